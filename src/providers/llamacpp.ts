import type { Provider } from './types.js';
import { OPENAI_STYLE, mergeTrailingAssistantTurns, withTrailingAssistant } from './openai-chat/request.js';

/**
 * llama.cpp's `llama-server`.
 *
 * Builds since April 2025 continue a trailing assistant message; builds since May 2026 also take
 * `continue_final_message: true` with `add_generation_prompt: false` (and reject the first without the
 * second), which is the only form that works on a server started with `--no-prefill-assistant`.
 * Older builds ignore the unknown field and force the generation prompt on for a prefill, so sending
 * both is right everywhere.
 *
 * Whether the prefix comes back differs by build (2025: continuation only; a September 2026 build:
 * prefix + continuation, glued to the first streamed delta, and with `continue_final_message` only in
 * the non-streamed answer), so the proxy strips exactly the prefix when, and only when, it is there.
 */
export const llamacpp: Provider = {
  ...OPENAI_STYLE,
  id: 'llamacpp',
  nativeForm: 'trailing assistant message + continue_final_message/add_generation_prompt=false',
  prefillRequest(request, prefill) {
    const body = withTrailingAssistant(request, prefill, {
      // Builds that parse reasoning continue the thinking itself with "reasoning_content".
      bodyExtras: {
        continue_final_message: prefill.continues === 'reasoning' ? 'reasoning_content' : true,
        add_generation_prompt: false,
      },
      reasoning: 'native',
    });
    // llama.cpp answers 400 to two assistant messages at the end of the list.
    const merged = mergeTrailingAssistantTurns(body);
    const repeated = merged.finalText ?? prefill.prefix;
    return { body: merged.body, repeated: repeated.length > 0 ? repeated : undefined };
  },
  recoverFromError(status, errorText, body) {
    // Builds before mid-2025 refuse prefill for thinking models unless thinking is switched off.
    if (status !== 400 || !errorText.includes('incompatible with enable_thinking')) return undefined;
    const current = body.chat_template_kwargs;
    const kwargs = typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
    if (kwargs.enable_thinking === false) return undefined;
    return { retryBody: { ...body, chat_template_kwargs: { ...kwargs, enable_thinking: false } } };
  },
};
