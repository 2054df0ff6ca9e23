import { withoutProxyRequestFields } from '../chat/proxy-fields.js';
import type { ChatRequest } from '../chat/schema.js';
import type { Prefill } from './detect.js';
import type { ThinkTags } from './reasoning.js';
import { renderPartialTurn } from './render.js';

/**
 * For upstreams with no native prefill: the partial answer stays in the history as the assistant's
 * turn, and a user turn asks the model to carry on from its last character. The answer is cleaned of
 * any repeat of the prefix afterwards (see PrefixStripper). The result is a request in the request
 * model, which the provider then puts in its own form.
 */
export const CONTINUE_INSTRUCTION =
  'Continue your previous message from exactly where it stops, as if you had never been interrupted. ' +
  'Reply with the continuation only: do not repeat any text already written, and add no preface, quotes or commentary. ' +
  'If it stops in the middle of a word or sentence, continue that word or sentence.';

/**
 * The request that asks for the continuation, and the partial answer as the model sees it (a
 * reasoning prefix rendered in thinking tags in front of the content), which it may repeat.
 */
export function emulatedPrefillRequest(request: ChatRequest, prefill: Prefill, tags: ThinkTags): { request: ChatRequest; partial: string } {
  const body = withoutProxyRequestFields(request);
  const partial = renderPartialTurn(prefill, { reasoning: 'tags', thinkTags: tags }).content;
  body.messages = [
    ...request.messages.slice(0, prefill.index),
    { role: 'assistant', content: partial },
    { role: 'user', content: CONTINUE_INSTRUCTION },
  ];
  return { request: body, partial };
}
