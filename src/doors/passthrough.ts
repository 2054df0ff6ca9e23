import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../pipeline/context.js';
import { upstreamKey } from '../auth/keys.js';
import { upstreamTransportError } from '../errors.js';
import { ClientGone } from '../upstream/client-gone.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../upstream/headers.js';
import { relayEventStream } from './sse-relay.js';

/**
 * Every path the proxy does not handle itself (`/v1/completions`, `/v1/embeddings`, llama.cpp's
 * `/apply-template`, `/completion`, `/tokenize`, ...) is streamed to the upstream and back unchanged:
 * the request body is never parsed, only the upstream key replaces the client's.
 */
export async function passthroughRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.all('/*', (request, reply) => forward(context, request, reply, request.url));
}

/** Also used for `/v1/models`, which goes to the provider's own model-list path. */
export async function forward(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
): Promise<unknown> {
  const target = context.router.defaultTarget;
  const { provider, client: upstream } = target;
  request.telemetry.providerId = provider.id;
  const headers: Record<string, string> = {
    ...upstreamRequestHeaders(request.headers),
    ...provider.authHeaders(upstreamKey(target.spec, request.headers)),
  };
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  const length = request.headers['content-length'];
  if (typeof length === 'string') headers['content-length'] = length;
  const clientGone = ClientGone.watch(reply);
  let response;
  try {
    response = await upstream.request({
      method: request.method,
      path,
      headers,
      body: hasBody && request.method !== 'GET' && request.method !== 'HEAD' ? request.raw : null,
      signal: clientGone,
    });
  } catch (err) {
    throw upstreamTransportError(err);
  }
  reply.code(response.statusCode).headers(clientResponseHeaders(response.headers));
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.includes('text/event-stream')) {
    return reply.send(relayEventStream(response.body, (error) => request.telemetry.streamFailed(error), clientGone));
  }
  const upstreamLength = response.headers['content-length'];
  if (typeof upstreamLength === 'string') reply.header('content-length', upstreamLength);
  return reply.send(response.body);
}
