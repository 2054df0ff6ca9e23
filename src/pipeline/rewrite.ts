import type { Answer, AnswerEvent, ChoiceTextFields } from '../answer/types.js';
import type { AnswerPlan } from '../prefill/answer-plan.js';
import { ChoiceText } from '../prefill/choice-text.js';

type DeltaEvent = Extract<AnswerEvent, { type: 'delta' }>;

/**
 * Applies an answer plan to a streamed answer, event by event: a repeated prefix removed (it may be
 * split over deltas or glued to generated text), thinking found in tags moved to reasoning, the
 * prefixes put in front when echo is asked for. Only text that may still be the repeat or a partial
 * tag is held, and never more than its length.
 */
export class AnswerRewriter {
  private readonly choices = new Map<number, ChoiceText>();

  constructor(private readonly plan: AnswerPlan) {}

  /** True once every choice seen needs nothing more: the rest of the stream can pass untouched. */
  get settled(): boolean {
    if (this.plan.manyChoices || this.choices.size === 0) return false;
    for (const text of this.choices.values()) if (!text.settled) return false;
    return true;
  }

  /** Rewrites a delta in place; false when nothing is left worth sending. */
  delta(event: DeltaEvent): boolean {
    const text = this.textOf(event.index);
    const hadContent = event.content !== undefined;
    const out = text.push(event.content ?? '', false);
    if (out.content.length > 0 || (hadContent && out.reasoning.length === 0)) event.content = out.content;
    else delete event.content;
    const upstreamReasoning = event.reasoning === undefined ? '' : text.pushReasoning(event.reasoning, false);
    const reasoning = out.reasoning + upstreamReasoning;
    if (reasoning.length > 0) event.reasoning = reasoning;
    else delete event.reasoning;
    return worthSending(event);
  }

  /** Releases the text held for one choice (at its finish), as a delta; undefined when nothing was held. */
  flush(index: number): DeltaEvent | undefined {
    const text = this.choices.get(index);
    if (!text || !text.holding) return undefined;
    const out = text.push('', true);
    const reasoning = out.reasoning + text.pushReasoning('', true);
    if (out.content.length === 0 && reasoning.length === 0) return undefined;
    const event: DeltaEvent = { type: 'delta', index };
    if (reasoning.length > 0) event.reasoning = reasoning;
    if (out.content.length > 0) event.content = out.content;
    return event;
  }

  /** Releases everything still held (the stream ended). */
  flushAll(): DeltaEvent[] {
    const out: DeltaEvent[] = [];
    for (const index of this.choices.keys()) {
      const event = this.flush(index);
      if (event) out.push(event);
    }
    return out;
  }

  private textOf(index: number): ChoiceText {
    let text = this.choices.get(index);
    if (!text) {
      text = new ChoiceText(this.plan);
      this.choices.set(index, text);
    }
    return text;
  }
}

function worthSending(event: DeltaEvent): boolean {
  return (
    event.role === true ||
    (event.content !== undefined && event.content.length > 0) ||
    (event.reasoning !== undefined && event.reasoning.length > 0) ||
    event.toolCalls !== undefined ||
    event.refusal !== undefined ||
    event.logprobs !== undefined ||
    event.extra !== undefined
  );
}

/** Applies the answer plan to a whole answer, in place. */
export function rewriteAnswer(answer: Answer, plan: AnswerPlan): void {
  for (const choice of answer.choices) rewriteChoiceText(choice, plan);
}

/** Applies the answer plan to one whole choice's text (content and reasoning), in place. */
export function rewriteChoiceText(choice: ChoiceTextFields, plan: AnswerPlan): void {
  const original = choice.content;
  const text = new ChoiceText(plan);
  const { content, reasoning } = text.push(original ?? '', true);
  // Keep a null content null (a tool-call answer) unless there is text to put there.
  if (original !== null || content.length > 0) choice.content = content;
  if (choice.reasoning !== undefined) {
    const own = text.pushReasoning(choice.reasoning, true);
    if (own.length > 0) choice.reasoning = own;
    else delete choice.reasoning;
  }
  if (reasoning.length > 0) {
    const existing = choice.reasoning ?? '';
    // An echoed reasoning prefix goes in front of what the upstream reasoned itself.
    const echoed = plan.echo && plan.reasoningPrefix && reasoning.startsWith(plan.reasoningPrefix) ? plan.reasoningPrefix : '';
    choice.reasoning = echoed + existing + reasoning.slice(echoed.length);
  }
}
