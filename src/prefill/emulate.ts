import type { ChatRequest } from '../chat/schema.js';
import type { JsonBody } from '../providers/types.js';
import type { Prefill } from './detect.js';

/**
 * For upstreams with no native prefill: the partial answer stays in the history as the assistant's
 * turn, and a user turn asks the model to carry on from its last character. The answer is cleaned of
 * any repeat of the prefix afterwards (see PrefixStripper).
 */
export const CONTINUE_INSTRUCTION =
  'Continue your previous message from exactly where it stops, as if you had never been interrupted. ' +
  'Reply with the continuation only: do not repeat any text already written, and add no preface, quotes or commentary. ' +
  'If it stops in the middle of a word or sentence, continue that word or sentence.';

export function emulatedPrefillBody(request: ChatRequest, prefill: Prefill): JsonBody {
  const body: JsonBody = { ...request };
  delete body.echo;
  delete body.continue_final_message;
  const messages: unknown[] = request.messages.slice(0, prefill.index);
  messages.push({ role: 'assistant', content: prefill.prefix });
  messages.push({ role: 'user', content: CONTINUE_INSTRUCTION });
  body.messages = messages;
  return body;
}
