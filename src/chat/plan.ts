import type { PrefillFallback } from '../config/env.js';
import { ProxyError } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import { emulatedPrefillBody } from '../prefill/emulate.js';
import { hasProxyOnlyFields, withoutProxyOnlyFields } from '../providers/openai-shape.js';
import type { JsonBody, Provider } from '../providers/types.js';
import type { ResponsePlan } from '../response/plan.js';
import type { ChatRequest } from './schema.js';

export interface UpstreamPlan {
  /** Raw client bytes (forwarded untouched) or a rewritten JSON body. */
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
    const body = provider.rejectsUnknownFields && hasProxyOnlyFields(request) ? withoutProxyOnlyFields(request) : rawBody;
    return { body, response: { kind: 'none', prefix: '', echo: false } };
  }
  const echo = request.echo === true;
  if (provider.nativePrefill) {
    const native = provider.prefillRequest(request, prefill);
    return {
      body: native.body,
      response: {
        kind: 'native',
        prefix: prefill.prefix,
        echo,
        repeated:
          provider.echoesPrefix === 'sometimes' ? { text: native.upstreamPrefix, skipLeadingWhitespace: false } : undefined,
      },
    };
  }
  if (fallback === 'reject') {
    throw new ProxyError(
      400,
      `The upstream (${provider.id}) cannot continue a partial assistant message, and PREFILL_FALLBACK=reject. ` +
        'Send the request without a trailing assistant message, or mark it "prefix": false.',
      { code: 'prefill_not_supported', param: `messages[${prefill.index}]` },
    );
  }
  return {
    body: emulatedPrefillBody(request, prefill),
    response: { kind: 'emulated', prefix: prefill.prefix, echo, repeated: { text: prefill.prefix, skipLeadingWhitespace: true } },
  };
}
