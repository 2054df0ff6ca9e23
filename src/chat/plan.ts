import type { PrefillFallback } from '../config/env.js';
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
export function planChatCall(
  provider: Provider,
  fallback: PrefillFallback,
  request: ChatRequest,
  prefill: Prefill | undefined,
  rawBody: Buffer,
): UpstreamPlan {
  if (!prefill) {
    const upstream = provider.forwardRequest(request, false);
    return {
      path: upstream?.path ?? provider.chatPath,
      body: upstream?.body ?? rawBody,
      response: { kind: 'none', prefix: '', echo: false },
    };
  }
  if (!provider.supportsPrefill(request)) return planFallback(provider, fallback, request, prefill);
  const native = provider.prefillRequest(request, prefill);
  return {
    path: native.path ?? provider.chatPath,
    body: native.body,
    response: {
      kind: 'native',
      prefix: prefill.prefix,
      echo: request.echo === true,
      repeated: native.repeated ? { text: native.repeated, skipLeadingWhitespace: false } : undefined,
    },
  };
}

/** PREFILL_FALLBACK for a request the upstream cannot prefill: emulate it, or refuse it clearly. */
export function planFallback(provider: Provider, fallback: PrefillFallback, request: ChatRequest, prefill: Prefill): UpstreamPlan {
  if (fallback === 'reject') {
    throw new ProxyError(
      400,
      `The upstream (${provider.id}) cannot continue a partial assistant message for this request, and PREFILL_FALLBACK=reject. ` +
        'Send the request without a trailing assistant message, or mark it "prefix": false.',
      { code: 'prefill_not_supported', param: `messages[${prefill.index}]` },
    );
  }
  const emulated = emulatedPrefillRequest(request, prefill);
  const upstream = provider.forwardRequest(emulated, true) ?? { body: emulated };
  return {
    path: upstream.path ?? provider.chatPath,
    body: upstream.body,
    response: {
      kind: 'emulated',
      prefix: prefill.prefix,
      echo: request.echo === true,
      repeated: { text: prefill.prefix, skipLeadingWhitespace: true },
    },
  };
}
