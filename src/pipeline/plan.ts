import type { ChatRequest } from '../chat/schema.js';
import type { PrefillFallback } from '../config/types.js';
import { proxyError } from '../errors.js';
import type { AnswerPlan } from '../prefill/answer-plan.js';
import type { Prefill } from '../prefill/detect.js';
import { emulatedPrefillRequest } from '../prefill/emulate.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import type { CapabilityMemory } from '../providers/capability-memory.js';
import type { JsonBody, Provider } from '../providers/types.js';
import type { CallPlan, PlanSettings } from './types.js';

export type { PlanSettings } from './types.js';


export function routeSettings(route: { fallback: PrefillFallback; thinkTags: ThinkTags; supportsAssistantPrefill: boolean | undefined }): PlanSettings {
  return { fallback: route.fallback, thinkTags: route.thinkTags, supportsPrefill: route.supportsAssistantPrefill };
}

/** The key under which a refusal of prefill is remembered: the upstream and the model it was asked for. */
export function capabilityKey(upstream: string, model: string | undefined): string {
  return `${upstream}\u0000${model ?? ''}`;
}

/**
 * A request's settings: the route's, and what was learned at run time — a model that answered a
 * native prefill with its "does not support prefill" error goes straight to the fallback (until the
 * memory's TTL passes). A model's configured `supports_assistant_prefill` always wins.
 */
export function requestSettings(route: Parameters<typeof routeSettings>[0] & { target: { spec: { name: string } } }, model: string | undefined, learned: CapabilityMemory<boolean>): PlanSettings {
  const settings = routeSettings(route);
  if (settings.supportsPrefill === undefined && learned.get(capabilityKey(route.target.spec.name, model)) === false) settings.supportsPrefill = false;
  return settings;
}

/** Whether this upstream continues this request's partial assistant message itself. */
export function canPrefillNatively(provider: Provider, settings: Pick<PlanSettings, 'supportsPrefill'>, request: ChatRequest): boolean {
  if (!provider.prefillRequest) return false;
  return settings.supportsPrefill ?? provider.supportsPrefill(request);
}

/** Decides what goes upstream for one call and what must happen to its answer. */
export function planCall(
  provider: Provider,
  settings: PlanSettings,
  request: ChatRequest,
  prefill: Prefill | undefined,
  /** The client's bytes, when the request is as the client sent it; undefined for a rewritten one. */
  rawBody: Buffer | undefined,
): CallPlan {
  if (!prefill) {
    const upstream = provider.forwardRequest(request, rawBody === undefined);
    return {
      path: upstream?.path ?? provider.chatPath,
      body: upstream?.body ?? rawBody ?? (request as JsonBody),
      answer: { kind: 'none', prefix: '', echo: false },
    };
  }
  if (!provider.prefillRequest || !canPrefillNatively(provider, settings, request)) return planFallback(provider, settings, request, prefill);
  const native = provider.prefillRequest(request, prefill, { thinkTags: settings.thinkTags, raw: rawBody });
  return {
    path: native.path ?? provider.chatPath,
    body: native.body,
    answer: prefillAnswer('native', request, prefill, {
      repeated: native.repeated ? { text: native.repeated, skipLeadingWhitespace: false } : undefined,
      repeatedReasoning: native.repeatedReasoning,
      thinkingInContent: native.thinkingInContent ? { tags: settings.thinkTags, ...native.thinkingInContent } : undefined,
    }),
  };
}

/** One builder for every prefill's answer plan. */
function prefillAnswer(kind: 'native' | 'emulated', request: ChatRequest, prefill: Prefill, rewrite: Pick<AnswerPlan, 'repeated' | 'thinkingInContent' | 'repeatedReasoning' | 'collapseLeadingSpace'>): AnswerPlan {
  return {
    kind,
    manyChoices: typeof request.n === 'number' && request.n > 1,
    prefix: prefill.prefix,
    reasoningPrefix: prefill.reasoning,
    echo: request.echo === true,
    ...rewrite,
  };
}

/** PREFILL_FALLBACK for a request the upstream cannot prefill: emulate it, or refuse it clearly. */
export function planFallback(provider: Provider, settings: PlanSettings, request: ChatRequest, prefill: Prefill): CallPlan {
  if (settings.fallback === 'reject') {
    throw proxyError(
      'prefill_not_supported',
      `The upstream (${provider.id}) cannot continue a partial assistant message for this request, and PREFILL_FALLBACK=reject. ` +
        'Send the request without a trailing assistant message, or mark it "prefix": false.',
      { param: `messages[${prefill.index}]` },
    );
  }
  const emulated = emulatedPrefillRequest(request, prefill, settings.thinkTags);
  const upstream = provider.forwardRequest(emulated.request, true) ?? { body: emulated.request as JsonBody };
  return {
    path: upstream.path ?? provider.chatPath,
    body: upstream.body,
    answer: prefillAnswer('emulated', request, prefill, {
      repeated: { text: emulated.partial, skipLeadingWhitespace: true },
      collapseLeadingSpace: /[ \t]$/.test(prefill.prefix),
      thinkingInContent: prefill.reasoning === undefined ? undefined : { tags: settings.thinkTags, startsInside: prefill.continues === 'reasoning' },
    }),
  };
}
