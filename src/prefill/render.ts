import type { Prefill } from './detect.js';
import { renderThinking, type ThinkTags } from './reasoning.js';

/**
 * How an upstream takes a reasoning prefix: `native` as the message's `reasoning_content` field, `tags`
 * rendered in the model's thinking tags in front of the content (for upstreams without the field).
 */
export interface PartialTurnForm {
  reasoning: 'native' | 'tags';
  thinkTags: ThinkTags;
}

/** A partial assistant turn as one upstream will see it. */
export interface PartialTurn {
  /** The message's content: the prefix, after any thinking rendered in tags. */
  content: string;
  /** The reasoning prefix, when it travels in its own field. */
  reasoning?: string;
  /**
   * Set when an open thought was rendered into the content: the answer goes on thinking in tags, then
   * closes it and answers. (A closed thought needs nothing: the answer is content from the start.)
   */
  thinkingInContent?: { startsInside: boolean };
}

/** The one place a prefill becomes the text of a partial assistant turn, for every provider. */
export function renderPartialTurn(prefill: Prefill, form: PartialTurnForm): PartialTurn {
  if (prefill.reasoning === undefined) return { content: prefill.prefix };
  const stillThinking = prefill.continues === 'reasoning';
  if (form.reasoning === 'native') return { content: prefill.prefix, reasoning: prefill.reasoning };
  const content = renderThinking(prefill.reasoning, stillThinking, form.thinkTags) + prefill.prefix;
  return stillThinking ? { content, thinkingInContent: { startsInside: true } } : { content };
}
