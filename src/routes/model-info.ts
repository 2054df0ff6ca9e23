import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import type { Route } from '../routing/router.js';

/**
 * Per model: whether assistant prefill is supported, how (the native form), and what happens when it
 * is not (the fallback). Without a config file there is one entry, `*`, for whatever the client names.
 */
export function registerModelInfo(app: FastifyInstance, context: AppContext): void {
  const handler = async () => {
    const router = context.router;
    const entries = router.routing.models.length > 0
      ? router.routing.models.map((model) => describe(model.name, router.describe(model)))
      : [describe('*', router.resolve(undefined)!)];
    return { object: 'list', data: entries };
  };
  app.get('/v1/model/info', handler);
  app.get('/model/info', handler);
}

function describe(name: string, route: Route): Record<string, unknown> {
  const provider = route.target.provider;
  // As a plain prefill request for this model would be judged (Claude 4.6+, say, cannot).
  const probe = { model: route.upstreamModel ?? name, messages: [{ role: 'user' as const, content: 'x' }, { role: 'assistant' as const, content: 'y' }] };
  const supports = route.supportsAssistantPrefill ?? provider.supportsPrefill(probe);
  return {
    model_name: name,
    aliases: route.model?.aliases ?? [],
    upstream: route.target.spec.name,
    upstream_model: route.upstreamModel ?? null,
    provider: provider.id,
    supports_assistant_prefill: supports,
    prefill_form: supports ? provider.nativeForm : 'none',
    prefill_fallback: route.fallback,
    prefill_mode: route.mode,
    think_tags: [route.thinkTags.open, route.thinkTags.close],
  };
}
