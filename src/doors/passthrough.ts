import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { upstreamKey } from '../auth/keys.js';
import { invalidUpstreamResponse, proxyError, upstreamTransportError } from '../errors.js';
import type { RequestSecrets } from '../auth/secrets.js';
import type { Provider } from '../providers/types.js';
import type { UpstreamResponse } from '../upstream/types.js';
import type { AppContext } from '../pipeline/context.js';
import { ClientGone } from '../upstream/client-gone.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/headers.js';
import { readBody } from '../upstream/read-body.js';
import { relayEventStream } from './sse-relay.js';

/**
 * Every path the proxy does not handle itself (`/v1/completions`, `/v1/embeddings`, llama.cpp's
 * `/apply-template`, `/completion`, `/tokenize`, ...) goes to the default upstream and back unchanged
 * (only the upstream key replaces the client's), within bounds: the body is read whole first
 * (BODY_LIMIT_BYTES, within REQUEST_TIMEOUT_MS), so a slow upload holds a socket of the proxy's and
 * never an upstream connection; passthrough requests have their own connection pool and at most
 * PASSTHROUGH_MAX_IN_FLIGHT at once, so they can never starve the chat routes; and the path stays
 * below the upstream's base path.
 */
export async function passthroughRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.all('/*', (request, reply) => forward(context, request, reply, passthroughPath(request.url)));
}

/**
 * The request's path as the upstream gets it below its base path: origin-form only (not
 * `http://host/x` or `*`), and no segment that could climb out of the base path once decoded
 * (`..`, `.`, `%2e%2e`, encoded slashes or backslashes). Anything else is a 400 `invalid_path`.
 */
export function passthroughPath(url: string): string {
  const invalid = () => proxyError('invalid_path', 'The request path is not allowed: use an origin-form path without dot segments, backslashes or encoded slashes.', { param: 'path' });
  if (!url.startsWith('/')) throw invalid();
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path.includes('\\')) throw invalid();
  for (const segment of path.split('/')) {
    if (!segment.includes('.') && !segment.includes('%')) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw invalid();
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\')) throw invalid();
  }
  return url;
}

/** Also used for `/v1/models`, which goes to the provider's own model-list path. */
export function forward(context: AppContext, request: FastifyRequest, reply: FastifyReply, path: string): Promise<unknown> {
  return withinBudget(context, reply, () => relay(context, request, reply, path));
}

/**
 * `/v1/models` on an upstream whose list is not OpenAI's (Gemini): read whole (bounded), answered in
 * OpenAI's shape; an error is relayed as any passthrough error is.
 */
export function forwardModelList(context: AppContext, request: FastifyRequest, reply: FastifyReply, list: NonNullable<Provider['modelList']>): Promise<unknown> {
  return withinBudget(context, reply, async () => {
    const call = await callUpstream(context, request, reply, list.path);
    if (call.response.statusCode >= 400) return relayError(context, reply, call);
    const text = await readBody(call.response.body, context.config.limits.maxBodyBytes);
    let answer: unknown;
    try {
      answer = JSON.parse(text.toString('utf8'));
    } catch (err) {
      throw invalidUpstreamResponse("The upstream's model list is not JSON.", err);
    }
    return reply.code(200).send({ object: 'list', data: list.toOpenAI(answer) });
  });
}

/** Counts the request against PASSTHROUGH_MAX_IN_FLIGHT until its response closes. */
async function withinBudget(context: AppContext, reply: FastifyReply, work: () => Promise<unknown>): Promise<unknown> {
  const state = context.state;
  if (state.passthroughInFlight >= context.config.passthroughMaxInFlight) {
    reply.header('retry-after', '1');
    throw proxyError('passthrough_busy', 'Too many requests to passthrough routes are in flight (PASSTHROUGH_MAX_IN_FLIGHT); retry shortly.');
  }
  state.passthroughInFlight++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    state.passthroughInFlight--;
  };
  reply.raw.once('close', release);
  try {
    return await work();
  } catch (err) {
    release();
    throw err;
  }
}

const STREAM_KEY = Buffer.from('"stream"');

interface PassthroughCall {
  response: UpstreamResponse;
  secrets: RequestSecrets;
  passOn: Record<string, string | string[]>;
  clientGone: ClientGone;
}

/** The request sent to the default upstream on its passthrough pool, with the upstream's key. */
async function callUpstream(context: AppContext, request: FastifyRequest, reply: FastifyReply, path: string): Promise<PassthroughCall> {
  const target = context.router.defaultTarget;
  const { provider, passthrough: upstream } = target;
  request.telemetry.providerId = provider.id;
  const headers: Record<string, string> = {
    ...upstreamRequestHeaders(request.headers),
    ...provider.authHeaders(upstreamKey(target.spec, request.headers)),
  };
  const body = Buffer.isBuffer(request.body) && request.method !== 'GET' && request.method !== 'HEAD' ? request.body : null;
  const clientGone = request.clientGone;
  let response;
  try {
    // A body that may ask for a stream, to an upstream that closes the connection after one: not kept.
    const reset = provider.closesConnectionAfterStream === true && body !== null && body.includes(STREAM_KEY);
    response = await upstream.request({ method: request.method, path, headers, body, signal: clientGone, reset });
  } catch (err) {
    throw upstreamTransportError(err);
  }
  return { response, secrets: context.secrets.forRequest(request.headers), passOn: clientResponseHeaders(response.headers), clientGone };
}

/** An error answer: its body may echo a key, so it is read (bounded), cleaned, then sent. */
async function relayError(context: AppContext, reply: FastifyReply, call: PassthroughCall): Promise<unknown> {
  const text = await readBody(call.response.body, context.config.limits.maxBodyBytes);
  return reply.code(call.response.statusCode).headers(call.secrets.redactHeaders(call.passOn)).send(call.secrets.redactBytes(text));
}

async function relay(context: AppContext, request: FastifyRequest, reply: FastifyReply, path: string): Promise<unknown> {
  const call = await callUpstream(context, request, reply, path);
  const { response, secrets, passOn, clientGone } = call;
  if (response.statusCode >= 400) return relayError(context, reply, call);
  reply.code(response.statusCode).headers(passOn);
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.includes('text/event-stream')) {
    return reply.send(relayEventStream(response.body, (error) => request.telemetry.streamFailed(error), clientGone, secrets.empty ? undefined : (bytes) => secrets.redactBytes(bytes)));
  }
  const upstreamLength = response.headers['content-length'];
  if (typeof upstreamLength === 'string') reply.header('content-length', upstreamLength);
  return reply.send(response.body);
}
