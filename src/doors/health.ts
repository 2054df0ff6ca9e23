import type { FastifyInstance } from 'fastify';
import { proxyError } from '../errors.js';
import type { AppContext } from '../pipeline/context.js';

/**
 * `/health`: the process is alive. `/ready`: it takes traffic (503 while draining at shutdown).
 * Neither calls the upstream, so an upstream outage does not take every replica out of rotation.
 */
export function registerHealth(app: FastifyInstance, context: AppContext): void {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    if (context.state.draining) return reply.code(503).send({ status: 'draining' });
    return { status: 'ready' };
  });
  onlyGet(app, '/health');
  onlyGet(app, '/ready');
}

/**
 * The proxy's own GET routes answer every other method themselves (405, after the client key is
 * checked): they never fall through to the passthrough route and reach the upstream.
 */
export function onlyGet(app: FastifyInstance, url: string): void {
  app.route({
    method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url,
    handler: async (request, reply) => {
      reply.header('allow', 'GET, HEAD');
      throw proxyError('method_not_allowed', `${request.method} is not allowed on ${url}: use GET.`);
    },
  });
}
