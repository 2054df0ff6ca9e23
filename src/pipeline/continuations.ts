import type { ChatRequest } from '../chat/schema.js';
import { badRequest } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import { clientLimit, followUpRequest, tokensLeft, withSoFarPrefilled } from './follow-up.js';
import type { FollowUpStage } from './types.js';

/**
 * Continuing past the output limit (`max_continuations`), a stage of the follow-up loop. When the
 * upstream stops at its output limit (`finish_reason: "length"`) before the client's own limit is
 * reached, the whole text so far (reasoning and content) is prefilled and the model asked again, up
 * to `max` times. The client gets one answer: no seam, no repeated text, the last call's finish
 * reason, usage summed, the first call's identity; its own `max_tokens` still bounds the whole.
 */

/** How many continuations a request may have: its own field, else the route's default (not for n > 1). */
export function continuationsOf(chat: ChatRequest, configured: number, limit: number): number {
  const asked = chat.max_continuations;
  const many = typeof chat.n === 'number' && chat.n > 1;
  if (typeof asked === 'number') {
    if (asked > limit) throw badRequest(`max_continuations may be at most ${limit} (MAX_CONTINUATIONS_LIMIT).`, 'max_continuations');
    if (many && asked > 0) throw badRequest('max_continuations works with one choice: n must be 1.', 'n');
    return asked;
  }
  return many ? 0 : Math.min(configured, limit);
}

export function continuationStage(chat: ChatRequest, prefill: Prefill | undefined, max: number): FollowUpStage {
  const total = clientLimit(chat);
  let made = 0;
  return {
    name: 'continuation',
    adjustsFirstCall: false,
    first() {
      // Each call's usage is needed to keep the whole within the client's limit.
      return { chat: followUpRequest(chat, chat.messages, total), prefill, splitThinking: false };
    },
    next(soFar) {
      if (made >= max || soFar.finishReason !== 'length') return undefined;
      if (soFar.content.length === 0 && soFar.reasoning.length === 0 && !prefill) return undefined;
      const remaining = tokensLeft(total, soFar.completionTokens);
      if (remaining === 0) return undefined;
      made++;
      // Thinking cut off mid-way goes on as thinking; an answer begun goes on as the answer.
      return withSoFarPrefilled(chat, prefill, soFar, { trigger: 'continuation', thinkingClosed: soFar.content.length > 0, maxTokens: remaining });
    },
  };
}
