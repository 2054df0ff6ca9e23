/**
 * Thinking rendered in a model's own tags (`<think>…</think>` by default), for upstreams that have no
 * native field for a reasoning prefix, and the reverse: thinking found in tags inside generated content,
 * moved to `reasoning_content`.
 */

export interface ThinkTags {
  open: string;
  close: string;
}

export const DEFAULT_THINK_TAGS: ThinkTags = { open: '<think>', close: '</think>' };

/** Parses `THINK_TAGS` ("<think>,</think>"). */
export function parseThinkTags(value: string): ThinkTags {
  const [open, close, ...rest] = value.split(',');
  if (!open || !close || rest.length > 0) throw new Error('expected the opening and closing tag separated by a comma, e.g. "<think>,</think>"');
  return { open: open.trim(), close: close.trim() };
}

/**
 * The text a tag-based model would have written: thinking still open (the model continues it), or
 * closed (the model continues the answer after it).
 */
export function renderThinking(reasoning: string, stillThinking: boolean, tags: ThinkTags): string {
  return stillThinking ? `${tags.open}\n${reasoning}` : `${tags.open}\n${reasoning}\n${tags.close}\n\n`;
}

export interface SplitText {
  reasoning: string;
  content: string;
}

type State = 'start' | 'thinking' | 'answer';

/**
 * Splits generated text into thinking and answer as it streams in. Tags may arrive split over pieces:
 * only a possible partial tag is held back (never more than the tag's length), and each character is
 * looked at a bounded number of times.
 *
 * `insideThinking`: the text starts inside the thinking (a reasoning prefill rendered in tags).
 * Otherwise thinking is recognised only when the text opens with the open tag (after whitespace).
 */
export class ThinkTagSplitter {
  private state: State;
  private held = '';
  private answerStarted = false;
  /** The open tag was just read: the line break a model writes after it belongs to neither part. */
  private afterOpenTag = false;

  constructor(
    private readonly tags: ThinkTags,
    insideThinking: boolean,
  ) {
    this.state = insideThinking ? 'thinking' : 'start';
  }

  /** True once the thinking is over (closed, or there was none). */
  get thinkingDone(): boolean {
    return this.state === 'answer';
  }

  push(text: string): SplitText {
    const out: SplitText = { reasoning: '', content: '' };
    let input = this.held + text;
    this.held = '';
    while (input.length > 0) {
      if (this.state === 'start') {
        const trimmed = input.trimStart();
        if (trimmed.length === 0) {
          this.held = input;
          return out;
        }
        if (trimmed.startsWith(this.tags.open)) {
          this.state = 'thinking';
          this.afterOpenTag = true;
          input = trimmed.slice(this.tags.open.length);
          continue;
        }
        if (this.tags.open.startsWith(trimmed)) {
          this.held = input;
          return out;
        }
        // No thinking: the content as it came, its leading whitespace included (a continuation's
        // first space is the model's).
        this.state = 'answer';
        this.answerStarted = true;
        continue;
      }
      if (this.state === 'thinking') {
        if (this.afterOpenTag) {
          if (input === '\r') {
            this.held = input;
            return out;
          }
          this.afterOpenTag = false;
          input = input.replace(/^\r?\n/, '');
          if (input.length === 0) return out;
        }
        const end = input.indexOf(this.tags.close);
        if (end === -1) {
          // Hold a possible start of the closing tag, and the line break a model writes before it.
          let keep = partialSuffix(input, this.tags.close);
          const before = input.length - keep;
          if (input.charCodeAt(before - 1) === 10) keep += input.charCodeAt(before - 2) === 13 ? 2 : 1;
          else if (input.charCodeAt(before - 1) === 13) keep += 1;
          out.reasoning += input.slice(0, input.length - keep);
          this.held = input.slice(input.length - keep);
          return out;
        }
        out.reasoning += input.slice(0, end).replace(/\r?\n$/, '');
        input = input.slice(end + this.tags.close.length);
        this.state = 'answer';
        continue;
      }
      // The blank line a model writes after its closing tag belongs to neither part.
      if (!this.answerStarted) {
        const trimmed = input.replace(/^\s+/, '');
        if (trimmed.length === 0) return out;
        input = trimmed;
        this.answerStarted = true;
      }
      out.content += input;
      return out;
    }
    return out;
  }

  /** End of text: a held partial tag was plain text after all. */
  end(): SplitText {
    const held = this.held;
    this.held = '';
    if (held.length === 0) return { reasoning: '', content: '' };
    if (this.state === 'thinking') return { reasoning: held, content: '' };
    // Held after a closing tag: the blank line a model writes there belongs to neither part.
    return { reasoning: '', content: this.state === 'answer' && !this.answerStarted ? held.trimStart() : held };
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialSuffix(text: string, tag: string): number {
  const max = Math.min(tag.length - 1, text.length);
  for (let n = max; n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
