import type { Provider } from './types.js';
import { OPENAI_STYLE, trailingAssistantPrefill } from './openai-chat/request.js';

/**
 * DeepSeek: prefix completion is a beta feature. The last message is
 * `{"role": "assistant", "content": P, "prefix": true}` and the request must go to the `/beta` base URL
 * (elsewhere: 400 "prefix is only available when using beta api"), whatever base URL the user gave.
 * For reasoning models, `reasoning_content` on that message is the chain-of-thought prefix. Ordinary
 * requests keep the standard base URL. The answer never repeats the prefix.
 */
export const deepseek: Provider = {
  ...OPENAI_STYLE,
  id: 'deepseek',
  noNewTurnAfterAssistant: true,
  nativeForm: 'prefix=true on the last assistant message, via the /beta base URL',
  chatPath: '/chat/completions',
  modelsPath: '/models',
  normalizeBasePath: (basePath) => basePath.replace(/\/beta$/, ''),
  prefillRequest(request, prefill) {
    const native = trailingAssistantPrefill(request, prefill, { messageExtras: { prefix: true }, reasoning: 'native' });
    return { ...native, path: '/beta/chat/completions' };
  },
};
