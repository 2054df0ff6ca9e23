import type { Provider, ProviderId } from './types.js';
import { OPENAI_STYLE, forwardWithoutProxyFields } from './openai-chat/request.js';
import { responsesNativeCall } from './openai-responses/request.js';

/**
 * OpenAI and any OpenAI-compatible server whose prefill behaviour is unknown: no native prefill, so
 * prefill requests take the configured fallback (emulate or reject). OpenAI rejects request fields it
 * does not know, so the proxy's own fields are always removed.
 */
function withoutPrefill(id: ProviderId): Provider {
  return {
    ...OPENAI_STYLE,
    id,
    nativeForm: 'none',
    supportsPrefill: () => false,
    forwardRequest: forwardWithoutProxyFields,
  };
}

/** OpenAI also speaks the Responses API: a Responses request that is not a prefill goes to it as it came. */
export const openai: Provider = { ...withoutPrefill('openai'), nativeCall: responsesNativeCall, nativeWires: ['openai-responses'] };
export const openaiCompatible = withoutPrefill('openai-compatible');
