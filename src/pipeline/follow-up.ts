import type { ChatRequest } from '../chat/schema.js';
import type { Prefill } from '../prefill/detect.js';
import type { FollowUpStage } from './types.js';

/**
 * The "call again with what we have so far as a prefill" loop's shared step: the conversation whose
 * last turn is everything the assistant has written so far (the client's prefill, then the model's own
 * text over the calls before), as a prefill the upstream continues.
 */
export function withSoFarPrefilled(
  chat: ChatRequest,
  clientPrefill: Prefill | undefined,
  soFar: { reasoning: string; content: string },
  options: {
    trigger: Prefill['trigger'];
    /** The thought is over: any reasoning is rendered closed, and the model goes on with the answer. */
    thinkingClosed: boolean;
    /** Close an empty thought too (the thinking budget skips or ends thinking even when none was written). */
    emptyThinking?: boolean;
    maxTokens: number | undefined;
  },
): { chat: ChatRequest; prefill: Prefill } {
  const history = clientPrefill ? chat.messages.slice(0, clientPrefill.index) : chat.messages;
  const reasoning = (clientPrefill?.reasoning ?? '') + soFar.reasoning;
  const content = (clientPrefill?.prefix ?? '') + soFar.content;
  // Thinking closed by the proxy's budget stays a (possibly empty) closed thinking block: the model
  // must answer now. Without any reasoning, an ordinary continuation renders no thinking at all.
  const withReasoning = reasoning.length > 0 || (options.thinkingClosed && options.emptyThinking === true);
  const message: ChatRequest['messages'][number] = { role: 'assistant', content };
  if (withReasoning) message.reasoning_content = reasoning;
  const continues = content.length > 0 || options.thinkingClosed || !withReasoning ? 'content' : 'reasoning';
  return {
    chat: followUpRequest(chat, [...history, message], options.maxTokens),
    prefill: { prefix: content, reasoning: withReasoning ? reasoning : undefined, continues, index: history.length, trigger: options.trigger },
  };
}

/**
 * One call of a loop, derived from the client's request: the proxy's own fields gone (the loop does
 * the echo itself), the output limit the loop's, and usage asked for on streams (each call's counts
 * are summed for the client).
 */
export function followUpRequest(chat: ChatRequest, messages: ChatRequest['messages'], maxTokens: number | undefined): ChatRequest {
  const out: ChatRequest = { ...chat, messages };
  delete out.reasoning_budget_tokens;
  delete out.max_continuations;
  delete out.max_completion_tokens;
  delete out.echo;
  if (maxTokens === undefined) delete out.max_tokens;
  else out.max_tokens = maxTokens;
  if (chat.stream === true) out.stream_options = { ...(chat.stream_options ?? {}), include_usage: true };
  return out;
}

/** Tokens the client's own limit leaves after `used`; undefined without a limit. */
export function tokensLeft(total: number | undefined, used: number): number | undefined {
  return total === undefined ? undefined : Math.max(0, total - used);
}

/** The client's own limit on the whole answer, if it set one. */
export function clientLimit(chat: ChatRequest): number | undefined {
  const limit = chat.max_completion_tokens ?? chat.max_tokens;
  return typeof limit === 'number' ? limit : undefined;
}

/**
 * Several stages as one: the first call is the first stage's, and after each call the first stage
 * that has a next call gives it (the thinking budget closes the thinking, then continuations carry
 * the answer past the output limit).
 */
export function chainStages(stages: FollowUpStage[]): FollowUpStage | undefined {
  if (stages.length <= 1) return stages[0];
  return {
    name: stages.map((stage) => stage.name).join('+'),
    adjustsFirstCall: stages[0]!.adjustsFirstCall,
    first: (prepared) => stages[0]!.first(prepared),
    next(soFar) {
      for (const stage of stages) {
        const next = stage.next(soFar);
        if (next) return next;
      }
      return undefined;
    },
  };
}
