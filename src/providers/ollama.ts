import type { Provider } from './types.js';
import { OPENAI_STYLE, trailingAssistantPrefill } from './openai-chat/request.js';

/**
 * Ollama's OpenAI-compatible endpoint continues a trailing assistant message (how well depends on the
 * model's template) and answers with the continuation only. It merges consecutive same-role messages
 * itself, so no merging is needed here.
 */
export const ollama: Provider = {
  ...OPENAI_STYLE,
  id: 'ollama',
  noNewTurnAfterAssistant: true,
  nativeForm: 'trailing assistant message',
  prefillRequest(request, prefill, options) {
    return trailingAssistantPrefill(request, prefill, { reasoning: 'tags', thinkTags: options.thinkTags });
  },
};
