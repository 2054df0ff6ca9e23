import type { ThinkTags } from './reasoning.js';

/** What the proxy must do to an upstream's answer so the client gets the prefill contract. */
export interface AnswerPlan {
  /** Reported to the client as `x-prefill`. */
  kind: 'native' | 'emulated' | 'none';
  /** The client's prefix, returned in front of the continuation when `echo` is asked for. */
  prefix: string;
  echo: boolean;
  /** Text the upstream may repeat before the continuation; stripped when it is there. */
  repeated?: { text: string; skipLeadingWhitespace: boolean };
  /**
   * Reasoning the upstream may give back in front of its own, in its reasoning field (llama.cpp
   * repeats a reasoning prefix in whole answers). `closed`: the thinking was over before this call,
   * so whatever reasoning comes back is that repeat, and is dropped.
   */
  repeatedReasoning?: { text: string; closed: boolean };
  /** The client's reasoning prefix, returned in front of the reasoning when `echo` is asked for. */
  reasoningPrefix?: string;
  /**
   * The prefix ends in a space or tab, and the model was told to continue it (emulated prefill): a
   * space or tab it puts at the start of its continuation would double the prefix's, and is dropped.
   */
  collapseLeadingSpace?: boolean;
  /** The request asked for several choices (`n` > 1). */
  manyChoices?: boolean;
  /** Thinking comes back in tags inside the content: move it to `reasoning_content`. */
  thinkingInContent?: { tags: ThinkTags; startsInside: boolean };
}

/** The plan of an answer that needs nothing. */
export const PLAIN_ANSWER: AnswerPlan = { kind: 'none', prefix: '', echo: false };

/** False when the upstream's bytes can go to the client untouched. */
export function needsRewrite(plan: AnswerPlan): boolean {
  return plan.echo || plan.repeated !== undefined || plan.thinkingInContent !== undefined || plan.repeatedReasoning !== undefined || plan.collapseLeadingSpace === true;
}

/** True when the plan's only work is stripping a repeated prefix (its bytes can tell it is not there). */
export function onlyStripsRepeat(plan: AnswerPlan): plan is AnswerPlan & { repeated: NonNullable<AnswerPlan['repeated']> } {
  return plan.repeated !== undefined && !plan.echo && !plan.thinkingInContent && !plan.repeatedReasoning && !plan.collapseLeadingSpace;
}
