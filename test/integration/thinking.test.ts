import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import { MOCK_ANSWER, MOCK_THOUGHT, MOCK_THOUGHT_END, mockTokens } from '../../src/providers/mock/model.js';
import { ANSWER, THOUGHT, startThinkingLlamaCpp } from '../mocks/thinking-llamacpp.js';
import type { MockServer } from '../mocks/server.js';
import { complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Delta = { content?: string | null; reasoning_content?: string | null };

/** Reasoning and content of a stream, and whether any single delta mixed them or content came before reasoning ended. */
function parts(chunks: Chunk[]) {
  let reasoning = '';
  let content = '';
  let mixed = false;
  let reasoningAfterContent = false;
  const finishes: string[] = [];
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      const delta = choice.delta as Delta;
      if (delta.reasoning_content && delta.content) mixed = true;
      if (delta.reasoning_content && content.length > 0) reasoningAfterContent = true;
      reasoning += delta.reasoning_content ?? '';
      content += delta.content ?? '';
      if (choice.finish_reason) finishes.push(choice.finish_reason);
    }
  }
  return { reasoning, content, mixed, reasoningAfterContent, finishes };
}

const ask = [{ role: 'user', content: 'Tell me a story.' }];
const fullThought = `${MOCK_THOUGHT}${MOCK_THOUGHT_END}`;

describe('thinking budget on the built-in mock thinking model (thinking in <think> tags)', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(() => proxy.close());

  it('without a budget, thinking in tags is still only split when the proxy handles reasoning', async () => {
    const data = await complete(proxy.client, { model: 'mock-thinker', messages: ask });
    expect(data.choices[0]!.message.content).toContain('<think>');
  });

  it('stops the thinking at the budget, closes it, and answers in the same response', async () => {
    const data = await complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 10 } as never);
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    // 10 tokens: the open tag, then 9 words of thought.
    expect(message.reasoning_content).toBe(mockTokens(MOCK_THOUGHT).slice(0, 9).join('').trimStart());
    expect(message.content).toBe(MOCK_ANSWER);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    // Two calls: 10 completion tokens, then the answer's 17.
    expect(data.usage?.completion_tokens).toBe(10 + mockTokens(MOCK_ANSWER).length);
  });

  it('streams reasoning deltas, then content deltas, one finish reason, summed usage, no mixing', async () => {
    const result = await streamed(proxy.client, {
      model: 'mock-thinker',
      messages: ask,
      reasoning_budget_tokens: 6,
      stream_options: { include_usage: true },
    } as never);
    const p = parts(result.chunks);
    expect(p.reasoning).toBe(mockTokens(MOCK_THOUGHT).slice(0, 5).join('').trimStart());
    expect(p.content).toBe(MOCK_ANSWER);
    expect(p.mixed).toBe(false);
    expect(p.reasoningAfterContent).toBe(false);
    expect(p.finishes).toEqual(['stop']);
    expect(result.chunks.at(-1)!.usage?.completion_tokens).toBe(6 + mockTokens(MOCK_ANSWER).length);
    expect(new Set(result.chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('a budget larger than the thinking changes nothing but the split', async () => {
    const data = await complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 500 } as never);
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(fullThought);
    expect(message.content).toBe(MOCK_ANSWER);
  });

  it('a budget of 0 skips thinking', async () => {
    const data = await complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 0 } as never);
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBeUndefined();
    expect(message.content).toBe(MOCK_ANSWER);
    const stream = parts((await streamed(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 0 } as never)).chunks);
    expect(stream).toMatchObject({ reasoning: '', content: MOCK_ANSWER, finishes: ['stop'] });
  });

  it('max_tokens still bounds the whole answer', async () => {
    const data = await complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 10, max_tokens: 14 } as never);
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(data.usage?.completion_tokens).toBe(14);
    expect(data.choices[0]!.message.content).toBe(mockTokens(MOCK_ANSWER).slice(0, 4).join(''));
    const capped = await complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 50, max_tokens: 8 } as never);
    expect(capped.choices[0]!.finish_reason).toBe('length');
    expect(capped.usage?.completion_tokens).toBe(8);
  });

  it('a reasoning prefill continues the thinking, then answers; echo returns the prefix in reasoning_content', async () => {
    const messages = [...ask, { role: 'assistant', content: '', reasoning_content: 'The user wants a fox story,' }];
    const data = await complete(proxy.client, { model: 'mock-thinker', messages });
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(MOCK_THOUGHT_END);
    expect(message.content).toBe(MOCK_ANSWER);
    const stream = parts((await streamed(proxy.client, { model: 'mock-thinker', messages, echo: true })).chunks);
    expect(stream).toMatchObject({ reasoning: `The user wants a fox story,${MOCK_THOUGHT_END}`, content: MOCK_ANSWER, mixed: false });
  });

  it('a reasoning prefill with a budget of 0: the thinking is closed at once', async () => {
    const messages = [...ask, { role: 'assistant', content: '', reasoning_content: 'The user wants a fox story.' }];
    const data = await complete(proxy.client, { model: 'mock-thinker', messages, reasoning_budget_tokens: 0 } as never);
    expect(data.choices[0]!.message.content).toBe(MOCK_ANSWER);
    expect((data.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBeUndefined();
  });

  it('refuses a negative budget and n > 1', async () => {
    await expect(complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: -1 } as never)).rejects.toMatchObject({
      status: 400,
      param: 'reasoning_budget_tokens',
    });
    await expect(complete(proxy.client, { model: 'mock-thinker', messages: ask, reasoning_budget_tokens: 5, n: 2 } as never)).rejects.toMatchObject({ status: 400, param: 'n' });
  });
});

describe('thinking budget and reasoning prefill on llama.cpp with native reasoning_content', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startThinkingLlamaCpp();
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });
  const question = [{ role: 'user', content: 'Capital of France?' }];
  const words = (list: string[], from: number, to?: number) => list.slice(from, to).join(' ');

  it('the budget cuts the thought; the follow-up (thought closed, no answer yet) takes the raw route; the answer follows', async () => {
    const data = await complete(proxy.client, { model: 'qwen3', messages: question, reasoning_budget_tokens: 5 } as never);
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(words(THOUGHT, 0, 5));
    expect(message.content).toBe(words(ANSWER, 0));
    // No chat form says "thought over, answer not begun" (the server would think on): /apply-template + /completion.
    const second = upstream.requests.at(-1)!;
    expect(second.url).toBe('/completion');
    expect(second.json!.prompt).toBe(`<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n<think>\n${words(THOUGHT, 0, 5)}\n</think>\n\n`);

    const stream = parts((await streamed(proxy.client, { model: 'qwen3', messages: question, reasoning_budget_tokens: 5 } as never)).chunks);
    expect(stream).toMatchObject({ reasoning: words(THOUGHT, 0, 5), content: words(ANSWER, 0), mixed: false, reasoningAfterContent: false, finishes: ['stop'] });
  });

  it('an answer cut by the first call is continued, not restarted', async () => {
    const budget = THOUGHT.length + 3;
    const data = await complete(proxy.client, { model: 'qwen3', messages: question, reasoning_budget_tokens: budget } as never);
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(words(THOUGHT, 0));
    expect(message.content).toBe(words(ANSWER, 0));
    expect((upstream.requests.at(-1)!.json!.messages as unknown[]).at(-1)).toEqual({
      role: 'assistant',
      content: words(ANSWER, 0, 3),
      reasoning_content: words(THOUGHT, 0),
    });
  });

  it('a reasoning prefill continues the thought natively; the repeated prefix is removed, whole and streamed', async () => {
    const messages = [...question, { role: 'assistant', content: '', reasoning_content: 'I need to find the capital' }];
    const data = await complete(proxy.client, { model: 'qwen3', messages });
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(` ${words(THOUGHT, 6)}`);
    expect(message.content).toBe(words(ANSWER, 0));
    expect(upstream.requests.at(-1)!.json).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    const echoed = await complete(proxy.client, { model: 'qwen3', messages, echo: true });
    expect((echoed.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(`I need to find the capital ${words(THOUGHT, 6)}`);
    const stream = parts((await streamed(proxy.client, { model: 'qwen3', messages })).chunks);
    expect(stream).toMatchObject({ reasoning: ` ${words(THOUGHT, 6)}`, content: words(ANSWER, 0), mixed: false });
  });

  it('thought and answer prefilled: the answer goes on; the repeated thought is dropped from whole answers', async () => {
    const messages = [...question, { role: 'assistant', content: 'The capital', reasoning_content: words(THOUGHT, 0) }];
    const data = await complete(proxy.client, { model: 'qwen3', messages });
    const message = data.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.content).toBe(` ${words(ANSWER, 2)}`);
    expect(message.reasoning_content).toBeUndefined();
  });
});
