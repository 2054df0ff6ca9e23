import type { PrefillFallback } from '../config/env.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import { ProxyError } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import { emulatedPrefillRequest } from '../prefill/emulate.js';
import type { JsonBody, Provider } from '../providers/types.js';
import type { ResponsePlan } from '../response/plan.js';
import type { ChatRequest } from './schema.js';

export interface UpstreamPlan {
  /** Path below the upstream's base path. */
  path: string;
  /** Raw client bytes (forwarded untouched) or a JSON body in the upstream's form. */
  body: Buffer | JsonBody;
  response: ResponsePlan;
}

/** Decides what goes upstream and what must happen to the answer. */
export interface PlanSettings {
  fallback: PrefillFallback;
  thinkTags: ThinkTags;
  /** A model's configured `supports_assistant_prefill`, overriding what the provider says. */
  supportsPrefill?: boolean;
}

export function routeSettings(route: { fallback: PrefillFallback; thinkTags: ThinkTags; supportsAssistantPrefill: boolean | undefined }): PlanSettings {
  return { fallback: route.fallback, thinkTags: route.thinkTags, supportsPrefill: route.supportsAssistantPrefill };
}

export function planChatCall(
  provider: Provider,
  settings: PlanSettings,
  request: ChatRequest,
  prefill: Prefill | undefined,
  /** The client's bytes, when the request is as the client sent it; undefined for a rewritten one. */
  rawBody: Buffer | undefined,
): UpstreamPlan {
  if (!prefill) {
    const upstream = provider.forwardRequest(request, rawBody === undefined);
    return {
      path: upstream?.path ?? provider.chatPath,
      body: upstream?.body ?? rawBody ?? (request as JsonBody),
      response: { kind: 'none', prefix: '', echo: false },
    };
  }
  if (!(settings.supportsPrefill ?? provider.supportsPrefill(request))) return planFallback(provider, settings, request, prefill);
  const native = provider.prefillRequest(request, prefill, { thinkTags: settings.thinkTags });
  return {
    path: native.path ?? provider.chatPath,
    body: native.body,
    response: prefillResponse('native', request, prefill, {
      repeated: native.repeated ? { text: native.repeated, skipLeadingWhitespace: false } : undefined,
      thinkingInContent: native.thinkingInContent ? { tags: settings.thinkTags, ...native.thinkingInContent } : undefined,
    }),
  };
}

function prefillResponse(
  kind: 'native' | 'emulated',
  request: ChatRequest,
  prefill: Prefill,
  rewrite: Pick<ResponsePlan, 'repeated' | 'thinkingInContent'>,
): ResponsePlan {
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
export function planFallback(provider: Provider, settings: PlanSettings, request: ChatRequest, prefill: Prefill): UpstreamPlan {
  if (settings.fallback === 'reject') {
    throw new ProxyError(
      400,
      `The upstream (${provider.id}) cannot continue a partial assistant message for this request, and PREFILL_FALLBACK=reject. ` +
        'Send the request without a trailing assistant message, or mark it "prefix": false.',
      { code: 'prefill_not_supported', param: `messages[${prefill.index}]` },
    );
  }
  const emulated = emulatedPrefillRequest(request, prefill, settings.thinkTags);
  const upstream = provider.forwardRequest(emulated.request, true) ?? { body: emulated.request };
  return {
    path: upstream.path ?? provider.chatPath,
    body: upstream.body,
    response: prefillResponse('emulated', request, prefill, {
      repeated: { text: emulated.partial, skipLeadingWhitespace: true },
      thinkingInContent: prefill.reasoning === undefined ? undefined : { tags: settings.thinkTags, startsInside: prefill.continues === 'reasoning' },
    }),
  };
}
