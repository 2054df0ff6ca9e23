import { ChoiceText } from './choice-text.js';
import type { ResponsePlan } from './plan.js';

interface CompletionLike {
  choices?: Array<{ message?: { content?: unknown; reasoning_content?: unknown } | null } | null>;
}

/** Applies the response plan to a non-streamed chat completion, in place. */
export function rewriteCompletion(completion: CompletionLike, plan: ResponsePlan): void {
  if (!Array.isArray(completion.choices)) return;
  for (const choice of completion.choices) {
    const message = choice?.message;
    if (!message) continue;
    const original = message.content;
    const { content, reasoning } = new ChoiceText(plan).push(typeof original === 'string' ? original : '', true);
    // Keep a null content null (a tool-call answer) unless there is text to put there.
    if (typeof original === 'string' || content.length > 0) message.content = content;
    if (reasoning.length > 0) {
      const existing = typeof message.reasoning_content === 'string' ? message.reasoning_content : '';
      // An echoed reasoning prefix goes in front of what the upstream reasoned itself.
      const echoed = plan.echo && plan.reasoningPrefix && reasoning.startsWith(plan.reasoningPrefix) ? plan.reasoningPrefix : '';
      message.reasoning_content = echoed + existing + reasoning.slice(echoed.length);
    }
  }
}
