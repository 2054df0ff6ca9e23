import { PrefixStripper } from './prefix-stripper.js';
import { ThinkTagSplitter } from './reasoning.js';
import type { AnswerPlan } from './answer-plan.js';

/**
 * The text of one choice on its way to the client, piece by piece: a repeated prefix removed, thinking
 * found in tags moved to reasoning, and the prefixes put back in front when `echo` is asked for. Shared
 * by streamed and whole answers, so both give the same result.
 */
export class ChoiceText {
  private readonly stripper: PrefixStripper | undefined;
  private readonly splitter: ThinkTagSplitter | undefined;
  private readonly reasoningStripper: PrefixStripper | undefined;
  private echoPending: boolean;
  private collapsePending: boolean;

  constructor(private readonly plan: AnswerPlan) {
    const repeated = plan.repeated;
    this.stripper = repeated ? new PrefixStripper(repeated.text, { skipLeadingWhitespace: repeated.skipLeadingWhitespace }) : undefined;
    const thinking = plan.thinkingInContent;
    this.splitter = thinking ? new ThinkTagSplitter(thinking.tags, thinking.startsInside) : undefined;
    const reasoning = plan.repeatedReasoning;
    this.reasoningStripper = reasoning && !reasoning.closed ? new PrefixStripper(reasoning.text) : undefined;
    this.echoPending = plan.echo;
    this.collapsePending = plan.collapseLeadingSpace === true;
  }

  /** True once nothing is left to do: the echo sent, the repeat decided, no thinking to split. */
  get settled(): boolean {
    return (
      !this.echoPending &&
      !this.collapsePending &&
      (this.stripper === undefined || this.stripper.settled) &&
      this.splitter === undefined &&
      this.plan.repeatedReasoning === undefined
    );
  }

  /** True while text may still be held back (a possible repeat or a partial tag). */
  get holding(): boolean {
    return (
      (this.stripper !== undefined && !this.stripper.settled) ||
      this.splitter !== undefined ||
      (this.reasoningStripper !== undefined && !this.reasoningStripper.settled)
    );
  }

  /**
   * The next piece of reasoning the upstream gave in its own field: a repeat of the reasoning prefix
   * removed (all of it when the thinking was already closed). `last` releases anything held.
   */
  pushReasoning(text: string, last: boolean): string {
    if (this.plan.repeatedReasoning?.closed) return '';
    if (!this.reasoningStripper) return text;
    return this.reasoningStripper.push(text) + (last ? this.reasoningStripper.end() : '');
  }

  /** The next piece of generated content; `last` releases anything held. */
  push(text: string, last: boolean): { content: string; reasoning: string } {
    let content = this.stripper ? this.stripper.push(text) : text;
    if (last && this.stripper) content += this.stripper.end();
    let reasoning = '';
    if (this.splitter) {
      const split = this.splitter.push(content);
      content = split.content;
      reasoning = split.reasoning;
      if (last) {
        const rest = this.splitter.end();
        content += rest.content;
        reasoning += rest.reasoning;
      }
    }
    if (this.collapsePending && content.length > 0) {
      content = content.replace(/^[ \t]+/, '');
      if (content.length > 0) this.collapsePending = false;
    }
    if (this.echoPending) {
      this.echoPending = false;
      content = this.plan.prefix + content;
      if (this.plan.reasoningPrefix) reasoning = this.plan.reasoningPrefix + reasoning;
    }
    return { content, reasoning };
  }
}
