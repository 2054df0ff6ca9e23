import type { Provider, ProviderId } from './types.js';
import { OPENAI_STYLE, forwardWithoutProxyFields, trailingAssistantPrefill } from './openai-chat/request.js';

/**
 * Groq and OpenRouter continue a trailing assistant message. Whether they repeat the prefix is not
 * documented, so it is detected and stripped when present. Groq rejects unknown fields, and OpenRouter
 * hands requests to many providers, so the proxy's own fields never go. (OpenRouter's `:` keep-alive
 * comments are valid SSE: piped through, or dropped when the stream is rewritten.)
 */
function trailingAssistant(id: ProviderId): Provider {
  return {
    ...OPENAI_STYLE,
    id,
    nativeForm: 'trailing assistant message',
    noNewTurnAfterAssistant: true,
    forwardRequest: forwardWithoutProxyFields,
    prefillRequest(request, prefill, options) {
      return trailingAssistantPrefill(request, prefill, { reasoning: 'tags', thinkTags: options.thinkTags, mayRepeat: true, raw: options.raw });
    },
  };
}

export const groq = trailingAssistant('groq');
export const openrouter = trailingAssistant('openrouter');
