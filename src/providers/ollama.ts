import type { Provider } from './types.js';
import { bearerAuth, withTrailingAssistant } from './openai-shape.js';

/**
 * Ollama's OpenAI-compatible endpoint continues a trailing assistant message (how well depends on the
 * model's template) and answers with the continuation only. It merges consecutive same-role messages
 * itself, so no merging is needed here.
 */
export const ollama: Provider = {
  id: 'ollama',
  nativePrefill: true,
  nativeForm: 'trailing assistant message',
  rejectsUnknownFields: false,
  echoesPrefix: 'never',
  chatPath: '/v1/chat/completions',
  modelsPath: '/v1/models',
  authHeaders: bearerAuth,
  prefillRequest(request, prefill) {
    return { body: withTrailingAssistant(request, prefill), upstreamPrefix: prefill.prefix };
  },
};
