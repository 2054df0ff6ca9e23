import type { FastifyInstance } from 'fastify';
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
}
