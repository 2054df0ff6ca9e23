import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { planChatCall, planFallback, planSettings } from '../chat/plan.js';
import { ChatRequest, issuePath } from '../chat/schema.js';
import type { AppContext } from '../context.js';
import { ProxyError, badRequest, upstreamHttpError, upstreamTransportError } from '../errors.js';
import { detectPrefill, parsePrefillMode } from '../prefill/detect.js';
import type { JsonBody, StreamTranslator } from '../providers/types.js';
import { rewriteCompletion } from '../response/completion.js';
import { needsRewrite, type ResponsePlan } from '../response/plan.js';
import { relaySse } from '../response/relay.js';
import { ChatStreamRewriter } from '../response/stream.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/headers.js';
import { readBodyText } from '../upstream/read-body.js';
import type { UpstreamResponse } from '../upstream/types.js';

/** Upstream error bodies and rewritten answers are read whole; this bounds them. */
const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

export function registerChatCompletions(app: FastifyInstance, context: AppContext): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => handleChat(context, request, reply);
  app.post('/v1/chat/completions', handler);
  app.post('/chat/completions', handler);
}

async function handleChat(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { provider, upstream, config } = context;
  const parsed = ChatRequest.safeParse(request.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issuePath(issue.path);
    throw badRequest(`Invalid request${param ? ` at ${param}` : ''}: ${issue.message}`, param || null, 'invalid_request_body');
  }
  const chat = parsed.data;
  request.chatModel = chat.model ?? null;

  const modeHeader = request.headers['x-prefill-mode'];
  const mode =
    modeHeader === undefined
      ? config.prefillMode
      : parsePrefillMode(Array.isArray(modeHeader) ? modeHeader.join(',') : modeHeader, 'x-prefill-mode');
  const prefill = detectPrefill(chat, mode);
  let plan = planChatCall(provider, planSettings(config), chat, prefill, request.rawBody ?? Buffer.alloc(0));
  request.prefillKind = plan.response.kind;

  const stream = chat.stream === true;
  const headers: Record<string, string> = {
    ...upstreamRequestHeaders(request.headers),
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    ...provider.authHeaders(config.upstream.apiKey),
  };
  const abort = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });

  const call = async (path: string, body: Buffer | JsonBody): Promise<UpstreamResponse> => {
    try {
      return await upstream.request({
        method: 'POST',
        path,
        headers,
        body: Buffer.isBuffer(body) ? body : JSON.stringify(body),
        signal: abort.signal,
      });
    } catch (err) {
      throw upstreamTransportError(err);
    }
  };

  let response = await call(plan.path, plan.body);
  if (response.statusCode >= 400) {
    const errorText = await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES);
    const recovery =
      plan.response.kind === 'native' && prefill && !Buffer.isBuffer(plan.body)
        ? provider.recoverFromError?.(response.statusCode, errorText, plan.body)
        : undefined;
    if (!recovery) throw upstreamHttpError(response.statusCode, errorText);
    if ('fallback' in recovery) {
      request.log.debug({ status: response.statusCode }, 'upstream cannot prefill this request; applying PREFILL_FALLBACK');
      plan = planFallback(provider, planSettings(config), chat, prefill!);
      request.prefillKind = plan.response.kind;
    } else {
      request.log.debug({ status: response.statusCode }, 'upstream refused the first prefill form; retrying adjusted');
      plan = { ...plan, body: recovery.retryBody };
    }
    response = await call(plan.path, plan.body);
    if (response.statusCode >= 400) {
      throw upstreamHttpError(response.statusCode, await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES));
    }
  }

  reply.header('x-prefill', plan.response.kind);
  if (stream) return sendStream(request, reply, response, plan.response, provider.dialect?.streamTranslator(chat), abort.signal);
  return sendCompletion(reply, response, plan.response, provider.dialect ? (body) => provider.dialect!.completion(body, chat) : undefined);
}

async function sendCompletion(
  reply: FastifyReply,
  response: UpstreamResponse,
  plan: ResponsePlan,
  translate: ((body: unknown) => Record<string, unknown>) | undefined,
): Promise<unknown> {
  const passOn = clientResponseHeaders(response.headers);
  if (!translate && !needsRewrite(plan)) {
    reply.code(response.statusCode).headers(passOn);
    const length = response.headers['content-length'];
    if (typeof length === 'string') reply.header('content-length', length);
    return reply.send(response.body);
  }
  const text = await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES);
  let completion: Record<string, unknown>;
  try {
    completion = JSON.parse(text) as Record<string, unknown>;
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

async function sendStream(
  request: FastifyRequest,
  reply: FastifyReply,
  response: UpstreamResponse,
  plan: ResponsePlan,
  translator: StreamTranslator | undefined,
  clientSignal: AbortSignal,
): Promise<unknown> {
  const contentType = String(response.headers['content-type'] ?? '');
  if (!contentType.includes('text/event-stream')) {
    const text = await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES);
    throw new ProxyError(502, `The upstream answered a streaming request with "${contentType || 'no content type'}" instead of an event stream.`, {
      code: 'upstream_invalid_response',
      cause: text.slice(0, 200),
    });
  }
  const rewriter = translator || needsRewrite(plan) ? new ChatStreamRewriter(plan, translator) : undefined;
  const passOn = clientResponseHeaders(response.headers);
  delete passOn['content-encoding'];
  reply
    .code(response.statusCode)
    .headers(passOn)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no');
  const body = relaySse(
    response.body,
    rewriter,
    (error) => {
      request.streamError = error.code === null ? 'upstream_error' : String(error.code);
      request.log.warn({ err: error.cause ?? error, code: error.code }, 'upstream failed mid-stream');
    },
    clientSignal,
  );
  return reply.send(body);
}
