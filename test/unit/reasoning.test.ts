import { describe, expect, it } from 'vitest';
import { planChatCall } from '../../src/chat/plan.js';
import { ChatRequest } from '../../src/chat/schema.js';
import { detectPrefill } from '../../src/prefill/detect.js';
import { DEFAULT_THINK_TAGS, ThinkTagSplitter, parseThinkTags, renderThinking } from '../../src/prefill/reasoning.js';
import { providerFor, type ProviderId } from '../../src/providers/index.js';

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

describe('reasoning prefill per provider', () => {
  const settings = { fallback: 'emulate' as const, thinkTags: DEFAULT_THINK_TAGS };
  const plan = (id: ProviderId, last: Record<string, unknown>) => {
    const request = ChatRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, last] });
    return planChatCall(providerFor(id), settings, request, detectPrefill(request, 'auto'), undefined);
  };
  const lastMessage = (p: ReturnType<typeof plan>) => (p.body as { messages: unknown[] }).messages.at(-1);
  const thinking = { role: 'assistant', content: '', reasoning_content: 'I need to find' };
  const thoughtThenAnswer = { role: 'assistant', content: 'The capital', reasoning_content: 'Paris.' };

  it('a reasoning prefix with no content continues the thinking; with content, the answer', () => {
    expect(detectPrefill(ChatRequest.parse({ messages: [thinking] }), 'auto')?.continues).toBe('reasoning');
    expect(detectPrefill(ChatRequest.parse({ messages: [thoughtThenAnswer] }), 'auto')?.continues).toBe('content');
  });

  it('llama.cpp: native, continue_final_message "reasoning_content" to go on thinking', () => {
    const p = plan('llamacpp', thinking);
    expect(p.body).toMatchObject({ continue_final_message: 'reasoning_content', add_generation_prompt: false });
    expect(lastMessage(p)).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find' });
    expect(plan('llamacpp', thoughtThenAnswer).body).toMatchObject({ continue_final_message: true });
    expect(p.response.thinkingInContent).toBeUndefined();
  });

  it('vLLM and DeepSeek: native reasoning_content', () => {
    expect(lastMessage(plan('vllm', thinking))).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find' });
    expect(lastMessage(plan('deepseek', thinking))).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find', prefix: true });
  });

  it('tag-based upstreams get the thinking rendered in the content, open or closed, and split it back', () => {
    const open = plan('ollama', thinking);
    expect(lastMessage(open)).toEqual({ role: 'assistant', content: '<think>\nI need to find' });
    expect(open.response.thinkingInContent).toEqual({ tags: DEFAULT_THINK_TAGS, startsInside: true });
    const closed = plan('kimi', thoughtThenAnswer);
    expect(lastMessage(closed)).toEqual({ role: 'assistant', content: '<think>\nParis.\n</think>\n\nThe capital', partial: true });
    expect(closed.response.thinkingInContent?.startsInside).toBe(false);
    const mistral = plan('mistral', thinking);
    expect(lastMessage(mistral)).toEqual({ role: 'assistant', content: '<think>\nI need to find', prefix: true });
  });

  it('Anthropic cannot take a reasoning prefix: the fallback applies', () => {
    const request = ChatRequest.parse({ model: 'claude-3-7-sonnet-20250219', messages: [{ role: 'user', content: 'x' }, thinking] });
    expect(providerFor('anthropic').supportsPrefill(request)).toBe(false);
  });
});
