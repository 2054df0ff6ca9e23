/**
 * The prefill contract against real llama.cpp servers (the June 2025 build b5640 and the September
 * 2026 build de3ff81, each with plain ChatML and a Qwen3-style thinking template), driven through the
 * proxy with the official `openai` SDK and compared with llama.cpp's own ground truth: the prompt
 * de3ff81's `/apply-template` renders from the messages as the proxy normalises them, continued
 * greedily by `/completion` on the build under test.
 *
 * Skipped (with one warning) when the binaries are absent; LLAMA_SERVERS_REQUIRED=1 makes that a failure.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { validateChatCompletion, validateChatCompletionChunk } from '../helpers/openai-schema.js';
import { complete, startProxy, type RunningProxy } from '../helpers/proxy.js';
import {
  applyTemplate,
  completion,
  describeLlama,
  GREEDY,
  groundTruth,
  KNOWN_LLAMA_BUILDS,
  startLlamaServers,
  type ChatMessage,
  type LlamaServer,
  type LlamaTemplate,
} from '../helpers/llama-servers.js';

const TEMPLATES: LlamaTemplate[] = ['chatml', 'think'];
const COMBOS = KNOWN_LLAMA_BUILDS.flatMap((build) => TEMPLATES.map((template) => ({ build, template })));
const THINKING = COMBOS.filter((combo) => combo.template === 'think');
const MAX = 24;

const U = { role: 'user', content: 'Tell me a story.' };
const PREFIX = 'Once upon a time';
const REASONING = 'The user wants a story about a cat.';

type Delta = { content?: string | null; reasoning_content?: string | null };

/** A streamed answer as the client sees it. */
async function stream(proxy: RunningProxy, body: Record<string, unknown>) {
  const chunks = await proxy.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as never);
  let content = '';
  let reasoning = '';
  const finishes: string[] = [];
  let usage: OpenAI.CompletionUsage | undefined;
  let reasoningAfterContent = false;
  let firstContent: string | undefined;
  for await (const chunk of chunks as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
    for (const choice of chunk.choices) {
      const delta = choice.delta as Delta;
      if (delta.reasoning_content && content.length > 0) reasoningAfterContent = true;
      if (typeof delta.content === 'string' && delta.content.length > 0 && firstContent === undefined) firstContent = delta.content;
      content += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
      if (choice.finish_reason) finishes.push(choice.finish_reason);
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { content, reasoning, finishes, usage, reasoningAfterContent, firstContent };
}

async function whole(proxy: RunningProxy, body: Record<string, unknown>) {
  const data = await complete(proxy.client, body as never);
  const message = data.choices[0]!.message as { content: string | null; reasoning_content?: string };
  return { content: message.content ?? '', reasoning: message.reasoning_content ?? '', finish: data.choices[0]!.finish_reason, usage: data.usage };
}

describeLlama('the prefill contract on real llama.cpp servers', () => {
  let servers: LlamaServer[] = [];
  const proxies = new Map<string, RunningProxy>();
  const key = (build: string, template: string) => `${build}/${template}`;
  const server = (build: string, template: string) => servers.find((s) => s.build === build && s.template === template)!;
  const proxy = (build: string, template: string) => proxies.get(key(build, template))!;
  /** The ground truth of `messages` on `build`: de3ff81 renders (with the same template), the build continues. */
  const truth = (build: string, template: LlamaTemplate, messages: ChatMessage[], n = MAX) =>
    groundTruth({ templateUrl: server('de3ff81', template).url, completionUrl: server(build, template).url, messages, n_predict: n });

  beforeAll(async () => {
    servers = await startLlamaServers(COMBOS);
    for (const s of servers) proxies.set(key(s.build, s.template), await startProxy({ UPSTREAM_URL: s.url, UPSTREAM_PROVIDER: 'llamacpp' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  it.each(COMBOS)('$build ($template): a content prefill is continued exactly as llama.cpp continues it, whole, streamed and echoed', async ({ build, template }) => {
    const messages = [U, { role: 'assistant', content: PREFIX }];
    const expected = (await truth(build, template, messages)).continuation;
    expect(expected.length).toBeGreaterThan(0);
    const p = proxy(build, template);
    const body = { model: 'stories', messages, max_tokens: MAX, ...GREEDY };
    const plain = await whole(p, body);
    expect(plain.content).toBe(expected);
    expect(plain.reasoning).toBe('');
    const streamed = await stream(p, body);
    expect(streamed.content).toBe(expected);
    expect(streamed.finishes).toHaveLength(1);
    expect((await whole(p, { ...body, echo: true })).content).toBe(PREFIX + expected);
    const echoed = await stream(p, { ...body, echo: true });
    expect(echoed.content).toBe(PREFIX + expected);
    expect(echoed.firstContent?.startsWith(PREFIX)).toBe(true);
  });

  it.each(COMBOS)('$build ($template): prefill answers (whole, and every chunk of a stream) validate against OpenAI\'s schema', async ({ build, template }) => {
    const p = proxy(build, template);
    const bodies = [
      { messages: [U, { role: 'assistant', content: PREFIX }] },
      ...(template === 'think' ? [{ messages: [U, { role: 'assistant', content: '', reasoning_content: REASONING }] }, { messages: [U], reasoning_budget_tokens: 4 }] : []),
    ];
    for (const body of bodies) {
      for (const stream of [false, true]) {
        const response = await fetch(`${p.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'stories', max_tokens: MAX, ...GREEDY, ...body, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
        });
        // The budget's first call is not a prefill: headers say how the answer started.
        expect(response.headers.get('x-prefill')).toBe('reasoning_budget_tokens' in body ? 'none' : 'native');
        const text = await response.text();
        if (!stream) {
          expect(validateChatCompletion(JSON.parse(text)).errors, text).toEqual([]);
          continue;
        }
        const events: string[] = [];
        new SseParser((event) => events.push(event.data)).push(text);
        expect(events.at(-1)).toBe('[DONE]');
        for (const data of events.slice(0, -1)) expect(validateChatCompletionChunk(JSON.parse(data)).errors, data).toEqual([]);
      }
    }
  });

  it.each(COMBOS)('$build ($template): content parts are joined as one prefix; two trailing assistant messages are one turn', async ({ build, template }) => {
    const p = proxy(build, template);
    const parts = [U, { role: 'assistant', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] }];
    const expectedParts = (await truth(build, template, parts)).continuation;
    expect((await whole(p, { model: 'stories', messages: parts, max_tokens: MAX, ...GREEDY })).content).toBe(expectedParts);
    const two = [U, { role: 'assistant', content: 'Once upon a time there was a cat.' }, { role: 'assistant', content: 'The cat' }];
    const expectedTwo = (await truth(build, template, two)).continuation;
    expect((await whole(p, { model: 'stories', messages: two, max_tokens: MAX, ...GREEDY })).content).toBe(expectedTwo);
    expect((await stream(p, { model: 'stories', messages: two, max_tokens: MAX, ...GREEDY })).content).toBe(expectedTwo);
  });

  it.each(COMBOS)('$build ($template): a request that is not a prefill is llama.cpp\'s own answer', async ({ build, template }) => {
    const messages = [U];
    const expected = (await truth(build, template, messages)).continuation;
    const answer = await whole(proxy(build, template), { model: 'stories', messages, max_tokens: MAX, ...GREEDY });
    // With the thinking template the answer is thinking (the June 2025 build trims its trailing whitespace).
    if (template === 'think') expect(answer.reasoning.trimEnd()).toBe(expected.trimEnd());
    else expect(answer.content).toBe(expected);
  });

  it.each(COMBOS)('$build ($template): x-prefill-mode explicit with a bare trailing assistant message is a clear 400; with "prefix": true it is continued', async ({ build, template }) => {
    const p = proxy(build, template);
    const bare = [U, { role: 'assistant', content: PREFIX }];
    const error = await p.client.chat.completions
      .create({ model: 'stories', messages: bare, max_tokens: MAX, ...GREEDY } as never, { headers: { 'x-prefill-mode': 'explicit' } })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'prefill_mode_unsupported', param: 'messages[1]' });
    const marked = [U, { role: 'assistant', content: PREFIX, prefix: true }];
    const expected = (await truth(build, template, bare)).continuation;
    const answer = await p.client.chat.completions.create({ model: 'stories', messages: marked, max_tokens: MAX, ...GREEDY } as never, { headers: { 'x-prefill-mode': 'explicit' } });
    expect(answer.choices[0]!.message.content).toBe(expected);
  });

  it.each(THINKING)('$build (think): a reasoning prefill continues the thinking exactly, whole, streamed and echoed', async ({ build }) => {
    const messages = [U, { role: 'assistant', content: '', reasoning_content: REASONING }];
    const truthOf = await truth(build, 'think', messages);
    // The generation prompt (which opens <think>) plus the reasoning prefix.
    expect(truthOf.prompt).toBe((await applyTemplate(server('de3ff81', 'think').url, [U], { add_generation_prompt: true })) + REASONING);
    const expected = truthOf.continuation;
    const [thought] = expected.split('</think>');
    const p = proxy(build, 'think');
    const body = { model: 'stories', messages, max_tokens: MAX, ...GREEDY };
    const plain = await whole(p, body);
    expect(plain.reasoning).toBe(thought);
    expect(plain.content).not.toContain('<think>');
    const streamed = await stream(p, body);
    expect(streamed.reasoning).toBe(thought);
    expect((await whole(p, { ...body, echo: true })).reasoning).toBe(REASONING + thought);
    expect((await stream(p, { ...body, echo: true })).reasoning).toBe(REASONING + thought);
  });

  it.each(THINKING)('$build (think): thinking and answer prefilled, the answer is continued exactly and the thinking is not repeated', async ({ build }) => {
    const messages = [U, { role: 'assistant', content: PREFIX, reasoning_content: REASONING }];
    const truthOf = await truth(build, 'think', messages);
    expect(truthOf.prompt).toContain(`<think>\n${REASONING}\n</think>\n\n${PREFIX}`);
    const p = proxy(build, 'think');
    const body = { model: 'stories', messages, max_tokens: MAX, ...GREEDY };
    const plain = await whole(p, body);
    expect(plain.content).toBe(truthOf.continuation);
    expect(plain.reasoning).toBe('');
    const streamed = await stream(p, body);
    expect(streamed.content).toBe(truthOf.continuation);
    expect(streamed.reasoning).toBe('');
  });

  it.each(THINKING)('$build (think): the thinking budget stops the thinking, closes it, and the answer follows in content', async ({ build }) => {
    const budget = 6;
    const limit = 30;
    const p = proxy(build, 'think');
    const body = { model: 'stories', messages: [U], max_tokens: limit, reasoning_budget_tokens: budget, ...GREEDY };
    const generationPrompt = await applyTemplate(server(build, 'think').url, [U], { add_generation_prompt: true });
    const thinking = await completion(server(build, 'think').url, generationPrompt, { n_predict: budget });
    for (const answer of [await whole(p, body), await stream(p, body)]) {
      // The thinking is the model's first `budget` tokens (the June 2025 build trims trailing whitespace).
      expect(answer.reasoning.trimEnd()).toBe(thinking.trimEnd());
      // The answer: the prompt with the thinking closed, continued within what the client's limit leaves.
      const expected = await completion(server(build, 'think').url, `${generationPrompt}${answer.reasoning}\n</think>\n\n`, { n_predict: limit - budget });
      expect(answer.content).toBe(expected);
      expect(answer.content.length).toBeGreaterThan(0);
      expect(answer.content).not.toMatch(/<\/?think>/);
      expect(answer.usage!.completion_tokens).toBeLessThanOrEqual(limit);
      expect(answer.usage!.completion_tokens).toBeGreaterThan(budget);
    }
    const streamed = await stream(p, body);
    expect(streamed.finishes).toHaveLength(1);
    expect(streamed.reasoningAfterContent).toBe(false);
    // A budget of 0 skips thinking: the answer comes at once.
    const none = await whole(p, { ...body, reasoning_budget_tokens: 0 });
    expect(none.reasoning).toBe('');
    expect(none.content).toBe(await completion(server(build, 'think').url, `${generationPrompt}\n</think>\n\n`, { n_predict: limit }));
  });
});

describeLlama('servers started with --no-prefill-assistant', () => {
  let servers: LlamaServer[] = [];
  let plain: LlamaServer[] = [];
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    servers = await startLlamaServers(KNOWN_LLAMA_BUILDS.map((build) => ({ build, template: 'chatml' as const, extraArgs: ['--no-prefill-assistant'] })));
    plain = await startLlamaServers([{ build: 'de3ff81', template: 'chatml' }]);
    for (const s of servers) proxies.push(await startProxy({ UPSTREAM_URL: s.url, UPSTREAM_PROVIDER: 'llamacpp' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([...servers, ...plain].map((s) => s.stop()));
  });

  it.each(KNOWN_LLAMA_BUILDS.map((build, index) => ({ build, index })))('$build: a prefill is still continued exactly (the June 2025 build closes the turn: raw route)', async ({ index }) => {
    const messages = [U, { role: 'assistant', content: PREFIX }];
    const prompt = await applyTemplate(plain[0]!.url, messages);
    const expected = await completion(servers[index]!.url, prompt, { n_predict: MAX });
    const body = { model: 'stories', messages, max_tokens: MAX, ...GREEDY };
    expect((await whole(proxies[index]!, body)).content).toBe(expected);
    expect((await stream(proxies[index]!, body)).content).toBe(expected);
  });
});
