import type { Provider, ProviderId } from './types.js';
import { CONTINUE_FINAL_MESSAGE, OPENAI_STYLE, trailingAssistantPrefill } from './openai-chat/request.js';

/**
 * vLLM, and the servers that copied its chat-template parameters (SGLang, TGI, TabbyAPI):
 * `continue_final_message: true` renders the last assistant message open-ended; it must come with
 * `add_generation_prompt: false` (vLLM's default is true, and both true is a 400). The prefix is not
 * repeated unless `echo` is sent, which the proxy never forwards (it implements `echo` itself).
 */
function vllmLike(id: ProviderId): Provider {
  return {
    ...OPENAI_STYLE,
    id,
    nativeForm: 'continue_final_message=true + add_generation_prompt=false',
    prefillRequest(request, prefill, options) {
      return trailingAssistantPrefill(request, prefill, {
        bodyExtras: CONTINUE_FINAL_MESSAGE,
        // The client's bytes plus the two fields when nothing else changes.
        raw: options.raw,
        // vLLM hands reasoning_content to the chat template, which renders the thinking itself.
        reasoning: 'native',
      });
    },
  };
}

export const vllm = vllmLike('vllm');
export const sglang = vllmLike('sglang');
export const tgi = vllmLike('tgi');
export const tabbyapi = vllmLike('tabbyapi');
