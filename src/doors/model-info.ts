import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../pipeline/context.js';
import { canPrefillNatively, capabilityKey, requestSettings } from '../pipeline/plan.js';
import { decide } from '../pipeline/prepare.js';
import type { Route } from '../routing/router.js';

/**
 * Per model: whether assistant prefill is supported, how (the native form), and what happens when it
 * is not (the fallback), decided by the pipeline exactly as a plain prefill request for that model
 * would be (Claude 4.6+, say, cannot), and where that knowledge comes from: `config` (the model's
 * `supports_assistant_prefill`), `learned` (the upstream refused a prefill for it, remembered for
 * PREFILL_CAPABILITY_TTL_MS), or `provider` (the proxy's own knowledge of the dialect). Without a
 * config file there is one entry, `*`, for whatever the client names; models learned at run time are
 * listed too.
 */
export function registerModelInfo(app: FastifyInstance, context: AppContext): void {
  const handler = async () => {
    const router = context.router;
    const entries =
      router.routing.models.length > 0
        ? router.routing.models.map((model) => describe(context, model.name, router.describe(model)))
        : [describe(context, '*', router.resolve(undefined)!)];
    const listed = new Set(entries.map((entry) => capabilityKey(String(entry.upstream), String(entry.upstream_model ?? entry.model_name))));
    for (const [key, supports] of context.prefillCapabilities.live()) {
      if (listed.has(key)) continue;
      const [upstream, model] = key.split('\u0000') as [string, string];
      const target = router.targets.get(upstream);
      if (!target) continue;
      entries.push({ model_name: model, upstream, provider: target.provider.id, supports_assistant_prefill: supports, source: 'learned', prefill_form: supports ? target.provider.nativeForm : 'none' });
    }
    return { object: 'list', data: entries };
  };
  app.get('/v1/model/info', handler);
  app.get('/model/info', handler);
}

function describe(context: AppContext, name: string, route: Route): Record<string, unknown> {
  const probe = {
    model: route.upstreamModel ?? name,
    messages: [
      { role: 'user' as const, content: 'x' },
      { role: 'assistant' as const, content: 'y', prefix: true },
    ],
  };
  const options = { stream: false, echo: false, includeUsage: false, thinkingBudget: undefined };
  const decided = decide(context, { door: 'chat', chat: probe, raw: undefined, headers: {}, options }, undefined, route);
  const provider = route.target.provider;
  const settings = requestSettings(route, decided.chat.model, context.prefillCapabilities);
  const supports = decided.prefill !== undefined && canPrefillNatively(provider, settings, decided.chat);
  const source = route.supportsAssistantPrefill !== undefined ? 'config' : settings.supportsPrefill === false ? 'learned' : 'provider';
  return {
    model_name: name,
    aliases: route.model?.aliases ?? [],
    upstream: route.target.spec.name,
    upstream_model: route.upstreamModel ?? null,
    provider: provider.id,
    supports_assistant_prefill: supports,
    source,
    prefill_form: supports ? provider.nativeForm : 'none',
    prefill_fallback: route.fallback,
    prefill_mode: route.mode,
    think_tags: [route.thinkTags.open, route.thinkTags.close],
  };
}
