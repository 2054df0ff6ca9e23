import { describe, expect, it } from 'vitest';
import { DEFAULT_THINK_TAGS, ThinkTagSplitter, parseThinkTags, renderThinking } from '../../../src/prefill/reasoning.js';

function split(text: string[], insideThinking: boolean, tags = DEFAULT_THINK_TAGS) {
  const splitter = new ThinkTagSplitter(tags, insideThinking);
  let reasoning = '';
  let content = '';
  for (const piece of text) {
    const out = splitter.push(piece);
    reasoning += out.reasoning;
    content += out.content;
  }
  const rest = splitter.end();
  return { reasoning: reasoning + rest.reasoning, content: content + rest.content };
}

describe('ThinkTagSplitter', () => {
  const whole = '<think>\nFoxes swim.\n</think>\n\nYes, they can.';

  it('moves thinking out of the content, however the text is cut', () => {
    for (let i = 0; i <= whole.length; i++) {
      for (const j of [i, Math.min(whole.length, i + 3)]) {
        expect(split([whole.slice(0, i), whole.slice(i, j), whole.slice(j)], false)).toEqual({ reasoning: 'Foxes swim.', content: 'Yes, they can.' });
      }
    }
    expect(split([...whole], false)).toEqual({ reasoning: 'Foxes swim.', content: 'Yes, they can.' });
  });

  it('starts inside the thinking after a reasoning prefill', () => {
    expect(split([' and rivers.', '\n</th', 'ink>\n\nYes.'], true)).toEqual({ reasoning: ' and rivers.', content: 'Yes.' });
  });

  it('leaves text without a leading open tag alone, and a tag later in the text too', () => {
    expect(split(['Plain <think> answer.'], false)).toEqual({ reasoning: '', content: 'Plain <think> answer.' });
    expect(split(['<thi', 'nking is fun'], false)).toEqual({ reasoning: '', content: '<thinking is fun' });
  });

  it('keeps unfinished thinking as reasoning when the text ends (cut by a budget)', () => {
    expect(split(['<think>\nStill thin', 'king</'], false)).toEqual({ reasoning: 'Still thinking</', content: '' });
    expect(new ThinkTagSplitter(DEFAULT_THINK_TAGS, false).thinkingDone).toBe(false);
  });

  it('works with other tags', () => {
    const tags = parseThinkTags('[THINK],[/THINK]');
    expect(split(['[THINK]a[/THI', 'NK]b'], false, tags)).toEqual({ reasoning: 'a', content: 'b' });
    expect(() => parseThinkTags('<think>')).toThrowError(/comma/);
  });

  it('renders open and closed thinking', () => {
    expect(renderThinking('R', true, DEFAULT_THINK_TAGS)).toBe('<think>\nR');
    expect(renderThinking('R', false, DEFAULT_THINK_TAGS)).toBe('<think>\nR\n</think>\n\n');
  });
});
