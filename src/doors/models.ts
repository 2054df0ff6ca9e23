import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../pipeline/context.js';
import { forward, forwardModelList } from './passthrough.js';

/**
 * With a config file that lists models: those models (and their aliases), each owned by its upstream.
 * Otherwise the upstream's own list (the mock answers with its models), in OpenAI's shape where the
 * upstream's is another (Gemini).
 */
export function registerModels(app: FastifyInstance, context: AppContext): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const listed = context.router.routing.models.filter((model) => !model.pattern);
    if (listed.length > 0) {
      const created = Math.floor(Date.now() / 1000);
      const data = listed.flatMap((model) =>
        [model.name, ...model.aliases].map((id) => ({ id, object: 'model', created, owned_by: model.upstream })),
      );
      return reply.send({ object: 'list', data });
    }
    const query = request.url.indexOf('?');
    const target = context.router.defaultTarget;
    if (target.provider.modelList) return forwardModelList(context, request, reply, target.provider.modelList);
    return forward(context, request, reply, target.provider.modelsPath + (query === -1 ? '' : request.url.slice(query)));
  };
  app.get('/v1/models', handler);
  app.get('/models', handler);
}
