import type { Provider } from '../types.js';
import { OPENAI_STYLE, trailingAssistantPrefill } from '../openai-chat/request.js';

/**
 * The built-in mock model (see ./model.ts). Its native form is DeepSeek-style `prefix: true`, so a bare
 * trailing assistant message sent in `explicit` mode is answered as a new turn, exactly as the prefill
 * contract says it should be.
 */
export const mock: Provider = {
  ...OPENAI_STYLE,
  id: 'mock',
  nativeForm: 'prefix=true on the last assistant message',
  authHeaders: () => ({}),
  prefillRequest(request, prefill, options) {
    return trailingAssistantPrefill(request, prefill, { messageExtras: { prefix: true }, reasoning: 'tags', thinkTags: options.thinkTags });
  },
};
