import { PROXY_ONLY_FIELDS } from '../../chat/proxy-fields.js';
import { PLAIN_ANSWER } from '../../prefill/answer-plan.js';
import type { Prefill } from '../../prefill/detect.js';
import type { JsonBody, UpstreamCall, WireFormat } from '../types.js';
import { openAIResponsesAnswers } from './answers.js';

export const RESPONSES_PATH = '/v1/responses';

/**
 * A Responses request for an upstream that speaks the Responses API itself (OpenAI): when it is not a
 * prefill, it goes as it came — `store`, `previous_response_id`, hosted tools and all — and its answer
 * comes back untouched. A prefill is not: OpenAI cannot continue a partial message, so it takes the
 * request model and the fallback. The proxy's own fields never go (OpenAI rejects parameters it does
 * not know).
 */
export function responsesNativeCall(wire: WireFormat, body: JsonBody, prefill: Prefill | undefined): UpstreamCall | undefined {
  if (wire !== 'openai-responses' || prefill) return undefined;
  let sent = body;
  for (const field of PROXY_ONLY_FIELDS) {
    if (sent[field] === undefined) continue;
    if (sent === body) sent = { ...body };
    delete sent[field];
  }
  return { path: RESPONSES_PATH, body: sent, answer: PLAIN_ANSWER, answers: openAIResponsesAnswers };
}
