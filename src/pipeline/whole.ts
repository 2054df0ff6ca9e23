import type { Answer } from '../answer/types.js';
import { addUsage } from '../answer/usage.js';
import { ProxyError, invalidUpstreamResponse } from '../errors.js';
import { needsRewrite, onlyStripsRepeat } from '../prefill/answer-plan.js';
import { cannotHoldRepeat } from '../prefill/prefix-stripper.js';
import { clientResponseHeaders } from '../upstream/headers.js';
import { callUpstream, readAnswer, type CallContext, type Exchange } from './call.js';
import { planCall } from './plan.js';
import { rewriteAnswer, rewriteChoiceText } from './rewrite.js';
import type { RouteRun } from './route-run.js';
import type { Door, PipelineResult, PlannedCall, Prepared, SoFar } from './types.js';

/** Answers up to this size are read whole and sent in one write; larger ones are piped. */
const SMALL_ANSWER_BYTES = 1024 * 1024;

/**
 * A whole (non-streamed) answer. With nothing to rewrite and a door that speaks the upstream's wire
 * format, the upstream's bytes go as they came; otherwise the answer is read, decoded, rewritten, and
 * handed to the door to encode. With a follow-up stage, the calls' answers become one.
 */
export async function runWhole(run: RouteRun, door: Door): Promise<PipelineResult> {
  const { call, prepared } = run;
  if (prepared.stage) return runWholeLoop(run);
  const started = performance.now();
  const { first } = prepared;
  const exchange = await callUpstream(call, first.chat, first.prefill, first.plan);
  const { plan, response } = exchange;
  const headers = clientResponseHeaders(response.headers);
  const prefill = plan.answer.kind;
  const answers = plan.answers ?? call.provider.answers;
  const sameWire = door.wire === answers.wire;
  const length = Number(response.headers['content-length']);
  const knownLength = length >= 0 ? length : undefined;
  if (sameWire && !needsRewrite(plan.answer)) {
    // The bytes go as they came, after a cheap look that they are what the route expects (a JSON
    // object); a small answer read whole costs far less than a piped stream.
    expectJson(call, response.headers['content-type']);
    if (knownLength !== undefined && knownLength <= SMALL_ANSWER_BYTES) {
      const body = await readAnswerOrAgain(run, first, exchange, SMALL_ANSWER_BYTES);
      call.telemetry.upstreamMs += performance.now() - started;
      if (!startsLikeJsonObject(body)) throw notAnAnswer(call, 'The upstream answered with a body that is not a JSON object.');
      return { kind: 'bytes', status: response.statusCode, headers, body, length: body.length, prefill };
    }
    call.telemetry.upstreamMs += performance.now() - started;
    return { kind: 'bytes', status: response.statusCode, headers, body: response.body, length: Number.isFinite(length) ? length : undefined, prefill };
  }
  const raw = await readAnswerOrAgain(run, first, exchange);
  call.telemetry.upstreamMs += performance.now() - started;
  const answerPlan = plan.answer;
  if (sameWire && answers.asDoorBytes && onlyStripsRepeat(answerPlan) && cannotHoldRepeat(raw, answerPlan.repeated.text, answerPlan.repeated)) {
    // The only possible change was stripping a repeat that is not there: the bytes go as they came,
    // with at most the door's required fields written in (no decoding, no re-serializing).
    const body = answers.asDoorBytes(raw);
    if (body) return { kind: 'bytes', status: response.statusCode, headers, body, length: body.length, prefill };
  }
  const parsed = parseAnswer(call, raw);
  delete headers['content-encoding'];
  if (sameWire && answers.rewriteInPlace?.(parsed, (choice) => rewriteChoiceText(choice, answerPlan))) {
    // Already in the door's own form (llama.cpp's answers are): rewritten in place, without the
    // answer model's round trip.
    const body = Buffer.from(JSON.stringify(parsed));
    headers['content-type'] = 'application/json; charset=utf-8';
    return { kind: 'bytes', status: response.statusCode, headers, body, length: body.length, prefill };
  }
  const answer = decodeParsed(call, parsed, first.chat, plan);
  rewriteAnswer(answer, answerPlan);
  return { kind: 'answer', status: response.statusCode, headers, answer, prefill };
}

function expectJson(call: CallContext, contentType: string | string[] | undefined): void {
  const type = String(contentType ?? '');
  if (type.length > 0 && !/json/i.test(type)) throw notAnAnswer(call, `The upstream answered with "${type}" instead of JSON.`);
}

/** The first byte that is not whitespace opens an object. */
function startsLikeJsonObject(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

function notAnAnswer(call: CallContext, message: string) {
  const error = invalidUpstreamResponse(message);
  call.telemetry.upstreamFailed(error);
  return error;
}

const NOT_AN_ANSWER = "The upstream answered with a body that is not a valid answer (not JSON, or not its API's shape).";

function parseAnswer(call: CallContext, raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw notAnAnswer(call, NOT_AN_ANSWER);
  }
}

function decodeParsed(call: CallContext, parsed: unknown, chat: Prepared['chat'], plan: Exchange['plan']): Answer {
  try {
    return (plan.answers ?? call.provider.answers).whole(parsed, chat);
  } catch {
    throw notAnAnswer(call, NOT_AN_ANSWER);
  }
}

function decode(call: CallContext, raw: Buffer, chat: Prepared['chat'], plan: Exchange['plan']): Answer {
  return decodeParsed(call, parseAnswer(call, raw), chat, plan);
}

/**
 * A whole answer's body. One that breaks or stalls after the headers cannot be resumed from a partial
 * JSON body, so the call is asked again (RESUME_ATTEMPTS times: the deliberate, counted exception to
 * "never send twice").
 */
async function readAnswerOrAgain(run: RouteRun, planned: PlannedCall, exchange: Exchange, limitBytes?: number): Promise<Buffer> {
  const { call, prepared } = run;
  let attemptsLeft = typeof prepared.chat.n === 'number' && prepared.chat.n > 1 ? 0 : prepared.route.resumeAttempts;
  let current = exchange;
  for (;;) {
    try {
      return await readAnswer(call, current.response, limitBytes);
    } catch (err) {
      if (!(err instanceof ProxyError) || attemptsLeft <= 0 || call.signal.aborted || !BROKEN_BODY.has(String(err.code))) throw err;
      attemptsLeft--;
      call.telemetry.resumed(err);
      call.telemetry.upstreamStarted(prepared.route.target.spec.name);
      current = await callUpstream(call, planned.chat, planned.prefill, current.plan);
    }
  }
}

/** Failures of a body after its headers, which asking again can mend. */
const BROKEN_BODY = new Set(['upstream_body_timeout', 'upstream_connection_lost', 'upstream_error']);

/** Several calls (a follow-up stage) as one answer: the first call's identity, the text of all. */
async function runWholeLoop(run: RouteRun): Promise<PipelineResult> {
  const { call, prepared } = run;
  const stage = prepared.stage!;
  const settings = call.settings;
  const soFar: SoFar = { reasoning: '', content: '', finishReason: null, completionTokens: 0, lastCallTokens: undefined, calls: 0 };
  let next: { chat: Prepared['chat']; prefill: Prepared['prefill']; plan: Prepared['first']['plan'] } = prepared.first;
  let first: Answer | undefined;
  let firstExchange: Exchange | undefined;
  let usage: Answer['usage'];
  for (;;) {
    const started = performance.now();
    if (soFar.calls > 0) call.telemetry.upstreamStarted(prepared.route.target.spec.name);
    const exchange = await callUpstream(call, next.chat, next.prefill, next.plan);
    const raw = await readAnswerOrAgain(run, next, exchange);
    call.telemetry.upstreamMs += performance.now() - started;
    const answer = decode(call, raw, next.chat, exchange.plan);
    rewriteAnswer(answer, { ...exchange.plan.answer, echo: false });
    const choice = answer.choices[0];
    soFar.reasoning += choice?.reasoning ?? '';
    soFar.content += choice?.content ?? '';
    soFar.finishReason = choice?.finishReason ?? null;
    soFar.calls++;
    soFar.lastCallTokens = answer.usage?.completion_tokens;
    soFar.completionTokens += answer.usage?.completion_tokens ?? 0;
    usage = addUsage(usage, answer.usage);
    first ??= answer;
    firstExchange ??= exchange;
    const following = stage.next(soFar);
    if (!following) break;
    next = { ...following, plan: planCall(call.provider, settings, following.chat, following.prefill, undefined) };
  }
  const echo = prepared.request.options.echo;
  const clientPrefill = prepared.prefill;
  const reasoning = (echo ? (clientPrefill?.reasoning ?? '') : '') + soFar.reasoning;
  const base = first!;
  const merged: Answer = {
    ...base,
    choices: [
      {
        ...base.choices[0]!,
        index: 0,
        content: (echo ? (clientPrefill?.prefix ?? '') : '') + soFar.content,
        reasoning: reasoning.length > 0 ? reasoning : undefined,
        finishReason: (soFar.finishReason as Answer['choices'][number]['finishReason']) ?? 'stop',
      },
    ],
    usage,
  };
  const headers = clientResponseHeaders(firstExchange!.response.headers);
  delete headers['content-encoding'];
  return { kind: 'answer', status: firstExchange!.response.statusCode, headers, answer: merged, prefill: firstExchange!.plan.answer.kind };
}
