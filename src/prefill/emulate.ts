import type { ChatRequest } from '../chat/schema.js';
import type { Prefill } from './detect.js';

/**
 * For upstreams with no native prefill: the partial answer stays in the history as the assistant's
 * turn, and a user turn asks the model to carry on from its last character. The answer is cleaned of
 * any repeat of the prefix afterwards (see PrefixStripper). The result is an OpenAI-shaped request,
 * which the provider then puts in its own form.
 */
export const CONTINUE_INSTRUCTION =
  'Continue your previous message from exactly where it stops, as if you had never been interrupted. ' +
  'Reply with the continuation only: do not repeat any text already written, and add no preface, quotes or commentary. ' +
  'If it stops in the middle of a word or sentence, continue that word or sentence.';

export function emulatedPrefillRequest(request: ChatRequest, prefill: Prefill): ChatRequest {
  const body: ChatRequest = { ...request };
  delete body.echo;
  delete body.continue_final_message;
  body.messages = [
    ...request.messages.slice(0, prefill.index),
    { role: 'assistant', content: prefill.prefix },
    { role: 'user', content: CONTINUE_INSTRUCTION },
  ];
  return body;
}
