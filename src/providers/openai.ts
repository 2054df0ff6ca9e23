import type { Provider, ProviderId } from './types.js';
import { OPENAI_STYLE } from './openai-shape.js';

/**
 * OpenAI and any OpenAI-compatible server whose prefill behaviour is unknown: no native prefill, so
 * prefill requests take the configured fallback (emulate or reject).
 */
function withoutPrefill(id: ProviderId): Provider {
  return {
    ...OPENAI_STYLE,
    id,
    nativePrefill: false,
    nativeForm: 'none',
    rejectsUnknownFields: true,
    echoesPrefix: 'never',
    prefillRequest() {
      throw new Error(`${id} has no native prefill; the fallback applies`);
    },
  };
}

export const openai = withoutPrefill('openai');
export const openaiCompatible = withoutPrefill('openai-compatible');
