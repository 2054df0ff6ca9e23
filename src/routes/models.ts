import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { forward } from './passthrough.js';

/** The upstream's own model list (the mock answers with its one model). */
export function registerModels(app: FastifyInstance, context: AppContext): void {
  const handler = (request: Parameters<typeof forward>[1], reply: Parameters<typeof forward>[2]) => {
    const query = request.url.indexOf('?');
    return forward(context, request, reply, context.provider.modelsPath + (query === -1 ? '' : request.url.slice(query)));
  };
  app.get('/v1/models', handler);
  app.get('/models', handler);
}
