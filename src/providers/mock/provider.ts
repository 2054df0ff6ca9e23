import type { Provider } from '../types.js';
import { withTrailingAssistant } from '../openai-shape.js';

/**
 * The built-in mock model (see ./model.ts). Its native form is DeepSeek-style `prefix: true`, so a bare
 * trailing assistant message sent in `explicit` mode is answered as a new turn, exactly as the prefill
 * contract says it should be.
 */
export const mock: Provider = {
  id: 'mock',
  nativePrefill: true,
  nativeForm: 'prefix=true on the last assistant message',
  rejectsUnknownFields: false,
  echoesPrefix: 'never',
  chatPath: '/v1/chat/completions',
  modelsPath: '/v1/models',
  authHeaders: () => ({}),
  prefillRequest(request, prefill) {
    return {
      body: withTrailingAssistant(request, prefill, { messageExtras: { prefix: true } }),
      upstreamPrefix: prefill.prefix,
    };
  },
};
