import { PrefixStripper } from '../prefill/prefix-stripper.js';
import type { ResponsePlan } from './plan.js';

interface CompletionLike {
  choices?: Array<{ message?: { content?: unknown } | null } | null>;
}

/** Applies the response plan to a non-streamed chat completion, in place. */
export function rewriteCompletion(completion: CompletionLike, plan: ResponsePlan): void {
  if (!Array.isArray(completion.choices)) return;
  for (const choice of completion.choices) {
    const message = choice?.message;
    if (!message) continue;
    const original = message.content;
    let content = typeof original === 'string' ? original : '';
    if (plan.repeated && content.length > 0) {
      content = PrefixStripper.strip(plan.repeated.text, content, {
        skipLeadingWhitespace: plan.repeated.skipLeadingWhitespace,
      });
    }
    if (plan.echo) content = plan.prefix + content;
    // Keep a null content null (a tool-call answer) unless there is text to put there.
    if (typeof original === 'string' || content.length > 0) message.content = content;
  }
}
