import type { ChatRequest } from '../chat/schema.js';
import { badRequest } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import type { Provider } from '../providers/types.js';
import { followUpRequest, tokensLeft, withSoFarPrefilled } from './follow-up.js';
import type { FollowUpStage } from './types.js';

/**
 * The thinking budget (`reasoning_budget_tokens`), the first stage of the follow-up loop. The model
 * thinks in a first call capped at the budget. If it stopped by itself, that is the answer. If the cap
 * cut it off, a second call continues through a prefill: the thinking so far, closed, plus any answer
 * text so far; the model goes on with the answer. The client sees one answer, with one finish reason,
 * usage summed over the calls and `max_tokens` bounding the whole. A budget of 0 skips thinking: the
 * first call is the answer call.
 */

/** The budget that applies to a request, if any (400 for several choices). */
export function budgetOf(chat: ChatRequest, prefill: Prefill | undefined, provider: Provider): number | undefined {
  const budget = chat.reasoning_budget_tokens;
  if (typeof budget !== 'number') return undefined;
  // Thinking already over (a content prefill) leaves nothing to bound; some upstreams bound it themselves.
  if (prefill && prefill.continues === 'content') return undefined;
  if (provider.nativeThinkingBudget) return undefined;
  if (typeof chat.n === 'number' && chat.n > 1) throw badRequest('reasoning_budget_tokens works with one choice: n must be 1.', 'n');
  return budget;
}

export function thinkingBudgetStage(chat: ChatRequest, prefill: Prefill | undefined, budget: number): FollowUpStage {
  const limit = chat.max_completion_tokens ?? chat.max_tokens;
  const total = typeof limit === 'number' ? limit : undefined;
  const cap = total === undefined ? budget : Math.min(budget, total);
  const answerCall = (reasoning: string, content: string, maxTokens: number | undefined) =>
    withSoFarPrefilled(chat, prefill, { reasoning, content }, { trigger: 'thinking_budget', thinkingClosed: true, emptyThinking: true, maxTokens });
  return {
    name: 'thinking_budget',
    adjustsFirstCall: true,
    first() {
      if (budget === 0) return { ...answerCall('', '', total), splitThinking: false };
      return { chat: followUpRequest(chat, chat.messages, cap), prefill, splitThinking: true };
    },
    next(soFar) {
      if (budget === 0 || soFar.calls > 1 || soFar.finishReason !== 'length') return undefined;
      // The cap cut the thinking off: close it and let the model answer, within the client's limit.
      const remaining = tokensLeft(total, soFar.lastCallTokens !== undefined && soFar.lastCallTokens > 0 ? soFar.lastCallTokens : cap);
      if (remaining === 0) return undefined;
      return answerCall(soFar.reasoning, soFar.content, remaining);
    },
  };
}
