import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_UPSTREAM_BODY_BYTES, callChat, type ChatCallContext } from '../chat/exchange.js';
import { planChatCall, routeSettings } from '../chat/plan.js';
import type { ChatRequest } from '../chat/schema.js';
import { upstreamErrorKind } from '../metrics.js';
import type { PrefillMode } from '../prefill/detect.js';
import type { Route } from '../routing/router.js';
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

/** Resolves the route of a validated request: 404 for a model no entry matches. */
export function routeFor(context: AppContext, chat: ChatRequest): { route: Route; chat: ChatRequest; renamed: boolean } {
  const route = context.router.resolve(chat.model);
  if (!route) {
    throw new ProxyError(404, `The model "${chat.model}" does not exist on this proxy: see GET /v1/models.`, {
      code: 'model_not_found',
      param: 'model',
    });
  }
  const renamed = route.upstreamModel !== undefined && route.upstreamModel !== chat.model;
  return { route, chat: renamed ? { ...chat, model: route.upstreamModel } : chat, renamed };
}

/** The request's prefill mode: the x-prefill-mode header, else the route's (model, upstream, environment). */
export function modeFor(request: FastifyRequest, route: Route): PrefillMode {
  const header = request.headers['x-prefill-mode'];
  return header === undefined ? route.mode : parsePrefillMode(Array.isArray(header) ? header.join(',') : header, 'x-prefill-mode');
}

async function handleChat(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { metrics } = context;
  const clientChat = validateChatRequest(request.body);
  request.chatModel = clientChat.model ?? null;
  const { route, chat, renamed } = routeFor(context, clientChat);
  const { provider, client: upstream, spec } = route.target;
  request.routeLabel = route.label;
  request.providerId = provider.id;

  const prefill = detectPrefill(chat, modeFor(request, route));
  const stream = chat.stream === true;
  const clientGone = ClientGone.watch(reply);
  const callContext: ChatCallContext = {
    provider,
    upstream,
    settings: routeSettings(route),
    headers: {
      ...upstreamRequestHeaders(request.headers),
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      ...provider.authHeaders(upstreamKey(spec, request.headers)),
    },
    signal: clientGone,
    retry: spec.retry,
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
      serverTiming(context, reply, upstreamStart);
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

  // A renamed model changes the body: it cannot go as the client's bytes.
  const plan = planChatCall(provider, callContext.settings, chat, prefill, renamed ? undefined : (request.rawBody ?? Buffer.alloc(0)));
  request.prefillKind = plan.response.kind;
  const upstreamStart = performance.now();
  let exchange;
  try {
    exchange = await callChat(callContext, chat, prefill, plan);
  } catch (err) {
    if (err instanceof ProxyError) metrics.upstreamErrors.inc({ provider: provider.id, kind: upstreamErrorKind(err.status, err.code) });
    throw err;
  }
  metrics.upstreamLatency.observe({ provider: provider.id }, (performance.now() - upstreamStart) / 1000);
  request.prefillKind = exchange.plan.response.kind;
  reply.header('x-prefill', exchange.plan.response.kind);
  if (stream) return sendStream(context, request, reply, exchange.response, exchange.plan.response, provider.dialect?.streamTranslator(chat), clientGone);
  return sendCompletion(context, reply, exchange.response, exchange.plan.response, translate, upstreamStart);
}

/**
 * `Server-Timing: upstream;dur=…, proxy;dur=…` on whole answers, so users can see what the proxy adds:
 * upstream is the wait for the upstream's answer (until all of it was read), proxy the rest.
 */
function serverTiming(context: AppContext, reply: FastifyReply, upstreamStart: number): void {
  const upstreamMs = performance.now() - upstreamStart;
  const proxyMs = Math.max(0, reply.elapsedTime - upstreamMs);
  context.metrics.overhead.observe({ provider: reply.request.providerId ?? '' }, proxyMs / 1000);
  reply.header('server-timing', `upstream;dur=${upstreamMs.toFixed(2)}, proxy;dur=${proxyMs.toFixed(2)}`);
}

function logStreamFailure(context: AppContext, request: FastifyRequest, error: ProxyError): void {
  request.streamError = error.code === null ? 'upstream_error' : String(error.code);
  context.metrics.upstreamErrors.inc({ provider: request.providerId ?? '', kind: 'mid_stream' });
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
  context: AppContext,
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
      serverTiming(context, reply, upstreamStart);
      return reply.send(body);
    }
    if (Number.isFinite(length)) reply.header('content-length', String(length));
    serverTiming(context, reply, upstreamStart);
    return reply.send(response.body);
  }
  const length = Number(response.headers['content-length']);
  const raw = await readBody(response.body, MAX_UPSTREAM_BODY_BYTES, length >= 0 ? length : undefined);
  serverTiming(context, reply, upstreamStart);
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
  const relay = relaySse(response.body, rewriter, (error) => logStreamFailure(context, request, error), clientSignal, () =>
    context.metrics.streamFirstByte.observe({ provider: request.providerId ?? '' }, reply.elapsedTime / 1000),
  );
  return reply.send(relay);
}
