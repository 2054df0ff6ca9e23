import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_UPSTREAM_BODY_BYTES, callChat, type ChatCallContext } from '../chat/exchange.js';
import { planChatCall, planSettings } from '../chat/plan.js';
import { budgetCompletion, budgetOf, budgetStream, openBudget } from '../chat/thinking-budget.js';
import { validateChatRequest } from '../chat/validate.js';
import type { AppContext } from '../context.js';
import { ProxyError } from '../errors.js';
import { detectPrefill, parsePrefillMode } from '../prefill/detect.js';
import type { StreamTranslator } from '../providers/types.js';
import { rewriteCompletion } from '../response/completion.js';
import { needsRewrite, type ResponsePlan } from '../response/plan.js';
import { relaySse } from '../response/relay.js';
import { ChatStreamRewriter } from '../response/stream.js';
import { ClientGone } from '../upstream/client-gone.js';
import { upstreamKey } from '../auth.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/headers.js';
import { readBody } from '../upstream/read-body.js';
import type { UpstreamResponse } from '../upstream/types.js';

export function registerChatCompletions(app: FastifyInstance, context: AppContext): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => handleChat(context, request, reply);
  app.post('/v1/chat/completions', handler);
  app.post('/chat/completions', handler);
}

async function handleChat(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { provider, upstream, config } = context;
  const chat = validateChatRequest(request.body);
  request.chatModel = chat.model ?? null;

  const modeHeader = request.headers['x-prefill-mode'];
  const mode =
    modeHeader === undefined
      ? config.prefillMode
      : parsePrefillMode(Array.isArray(modeHeader) ? modeHeader.join(',') : modeHeader, 'x-prefill-mode');
  const prefill = detectPrefill(chat, mode);
  const stream = chat.stream === true;
  const clientGone = ClientGone.watch(reply);
  const callContext: ChatCallContext = {
    provider,
    upstream,
    settings: planSettings(config),
    headers: {
      ...upstreamRequestHeaders(request.headers),
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      ...provider.authHeaders(upstreamKey(config, request.headers)),
    },
    signal: clientGone,
    retry: config.upstream.retry,
    log: context.log,
    reqId: request.id,
  };
  const translate = provider.dialect ? (body: unknown) => provider.dialect!.completion(body, chat) : undefined;

  const budget = budgetOf(chat, prefill, provider);
  if (budget !== undefined) {
    if (!stream) {
      const upstreamStart = performance.now();
      const { completion, kind } = await budgetCompletion(callContext, chat, prefill, budget, translate);
      request.prefillKind = kind;
      serverTiming(reply, upstreamStart);
      return reply.header('x-prefill', kind).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(completion));
    }
    const opening = await openBudget(callContext, chat, prefill, budget);
    request.prefillKind = opening.plan.response.kind;
    assertEventStream(opening.response);
    streamHeaders(reply, opening.response).header('x-prefill', opening.plan.response.kind);
    const body = budgetStream(callContext, chat, prefill, budget, opening, () => provider.dialect?.streamTranslator(chat), (error) =>
      logStreamFailure(context, request, error),
    );
    return reply.send(body);
  }

  const plan = planChatCall(provider, callContext.settings, chat, prefill, request.rawBody ?? Buffer.alloc(0));
  request.prefillKind = plan.response.kind;
  const upstreamStart = performance.now();
  const exchange = await callChat(callContext, chat, prefill, plan);
  request.prefillKind = exchange.plan.response.kind;
  reply.header('x-prefill', exchange.plan.response.kind);
  if (stream) return sendStream(context, request, reply, exchange.response, exchange.plan.response, provider.dialect?.streamTranslator(chat), clientGone);
  return sendCompletion(reply, exchange.response, exchange.plan.response, translate, upstreamStart);
}

/**
 * `Server-Timing: upstream;dur=…, proxy;dur=…` on whole answers, so users can see what the proxy adds:
 * upstream is the wait for the upstream's answer (until all of it was read), proxy the rest.
 */
function serverTiming(reply: FastifyReply, upstreamStart: number): void {
  const upstreamMs = performance.now() - upstreamStart;
  const proxyMs = Math.max(0, reply.elapsedTime - upstreamMs);
  reply.header('server-timing', `upstream;dur=${upstreamMs.toFixed(2)}, proxy;dur=${proxyMs.toFixed(2)}`);
}

function logStreamFailure(context: AppContext, request: FastifyRequest, error: ProxyError): void {
  request.streamError = error.code === null ? 'upstream_error' : String(error.code);
  context.log.warn({ reqId: request.id, err: error.cause ?? error, code: error.code }, 'upstream failed mid-stream');
}

function assertEventStream(response: UpstreamResponse): void {
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.includes('text/event-stream')) return;
  response.body.resume();
  throw new ProxyError(502, `The upstream answered a streaming request with "${contentType || 'no content type'}" instead of an event stream.`, {
    code: 'upstream_invalid_response',
  });
}

function streamHeaders(reply: FastifyReply, response: UpstreamResponse): FastifyReply {
  const passOn = clientResponseHeaders(response.headers);
  delete passOn['content-encoding'];
  return reply
    .code(response.statusCode)
    .headers(passOn)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no');
}

/** Answers up to this size are read whole and sent in one write; larger ones are piped. */
const SMALL_ANSWER_BYTES = 1024 * 1024;

async function sendCompletion(
  reply: FastifyReply,
  response: UpstreamResponse,
  plan: ResponsePlan,
  translate: ((body: unknown) => Record<string, unknown>) | undefined,
  upstreamStart: number,
): Promise<unknown> {
  const passOn = clientResponseHeaders(response.headers);
  if (!translate && !needsRewrite(plan)) {
    reply.code(response.statusCode).headers(passOn);
    const length = Number(response.headers['content-length']);
    // The bytes go as they came; a small answer read whole costs far less than a piped stream.
    if (length >= 0 && length <= SMALL_ANSWER_BYTES) {
      const body = await readBody(response.body, SMALL_ANSWER_BYTES, length);
      serverTiming(reply, upstreamStart);
      return reply.send(body);
    }
    if (Number.isFinite(length)) reply.header('content-length', String(length));
    serverTiming(reply, upstreamStart);
    return reply.send(response.body);
  }
  const length = Number(response.headers['content-length']);
  const raw = await readBody(response.body, MAX_UPSTREAM_BODY_BYTES, length >= 0 ? length : undefined);
  serverTiming(reply, upstreamStart);
  if (!translate && cannotHoldRepeat(plan, raw)) {
    // The only possible change was stripping a repeat that is not there: the bytes go as they came.
    return reply.code(response.statusCode).headers(passOn).send(raw);
  }
  let completion: Record<string, unknown>;
  try {
    completion = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (translate) completion = translate(completion);
  } catch (err) {
    throw new ProxyError(502, 'The upstream answered with a body that is not valid JSON.', {
      code: 'upstream_invalid_response',
      cause: err,
    });
  }
  rewriteCompletion(completion, plan);
  delete passOn['content-encoding'];
  reply.code(response.statusCode).headers(passOn).header('content-type', 'application/json; charset=utf-8');
  return reply.send(JSON.stringify(completion));
}

/**
 * True when the plan's only work is stripping a repeated prefix and the answer's bytes do not contain
 * it at all. Decided on the raw bytes only for prefixes whose JSON form is unambiguous (printable ASCII
 * without quotes, backslashes or slashes), so no escaping variant can hide a repeat.
 */
function cannotHoldRepeat(plan: ResponsePlan, raw: Buffer): boolean {
  if (plan.echo || plan.thinkingInContent || !plan.repeated) return false;
  const needle = plan.repeated.skipLeadingWhitespace ? plan.repeated.text.trimStart() : plan.repeated.text;
  if (needle.length === 0 || !/^[\x20-\x7e]+$/.test(needle) || /["\\/]/.test(needle)) return false;
  return !raw.includes(needle);
}

async function sendStream(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  response: UpstreamResponse,
  plan: ResponsePlan,
  translator: StreamTranslator | undefined,
  clientSignal: ClientGone,
): Promise<unknown> {
  assertEventStream(response);
  const rewriter = translator || needsRewrite(plan) ? new ChatStreamRewriter(plan, translator) : undefined;
  streamHeaders(reply, response);
  return reply.send(relaySse(response.body, rewriter, (error) => logStreamFailure(context, request, error), clientSignal));
}
