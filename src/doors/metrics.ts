import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../pipeline/context.js';
import { onlyGet } from './health.js';

/** Prometheus exposition of the proxy's metrics (see metrics.ts). */
export function registerMetrics(app: FastifyInstance, context: AppContext): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await context.metrics.registry.metrics();
    return reply.header('content-type', context.metrics.registry.contentType).send(body);
  });
  onlyGet(app, '/metrics');
}
