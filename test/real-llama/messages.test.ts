/**
 * The Messages door against real llama.cpp servers (b5640 and de3ff81, plain ChatML and the thinking
 * template), driven by the official Anthropic SDK and compared with llama.cpp's own ground truth, as
 * contract.test.ts does for Chat Completions: the prompt de3ff81's `/apply-template` renders, continued
 * greedily by `/completion` on the build under test. count_tokens is compared with the prompt tokens
 * llama.cpp itself reports for the same request.
 *
 * Skipped (with one warning) when the binaries are absent; LLAMA_SERVERS_REQUIRED=1 makes that a failure.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkMessage, checkStream, parseNamedEvents } from '../fixtures/anthropic/sdk-shapes.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { completionFinishReason, describeLlama, groundTruth, KNOWN_LLAMA_BUILDS, startLlamaServers, type ChatMessage, type LlamaServer, type LlamaTemplate } from '../helpers/llama-servers.js';

const TEMPLATES: LlamaTemplate[] = ['chatml', 'think'];
const COMBOS = KNOWN_LLAMA_BUILDS.flatMap((build) => TEMPLATES.map((template) => ({ build, template })));
const THINKING = COMBOS.filter((combo) => combo.template === 'think');
const MAX = 24;
/** Greedy: the same settings the ground truth is taken with (the Messages API has no seed; greedy needs none). */
const GREEDY = { temperature: 0, top_k: 1 };

const PREFIX = 'Once upon a time';
const REASONING = 'The user wants a story about a cat.';
const U: Anthropic.MessageParam = { role: 'user', content: 'Tell me a story.' };

type Params = Anthropic.MessageCreateParamsNonStreaming;
const textOf = (message: Anthropic.Message) => message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
const thinkingOf = (message: Anthropic.Message) => message.content.flatMap((block) => (block.type === 'thinking' ? [block.thinking] : [])).join('');

describeLlama('the Messages door on real llama.cpp servers', () => {
  let servers: LlamaServer[] = [];
  const proxies = new Map<string, RunningProxy>();
  const key = (build: string, template: string) => `${build}/${template}`;
  const server = (build: string, template: string) => servers.find((s) => s.build === build && s.template === template)!;
  const client = (build: string, template: string) => new Anthropic({ baseURL: proxies.get(key(build, template))!.url, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  const truth = (build: string, template: LlamaTemplate, messages: ChatMessage[]) =>
    groundTruth({ templateUrl: server('de3ff81', template).url, completionUrl: server(build, template).url, messages, n_predict: MAX });

  /** messages.stream(): the text and thinking as the SDK's events gave them, and the final Message. */
  async function streamed(anthropic: Anthropic, params: Params) {
    const stream = anthropic.messages.stream(params as Anthropic.MessageStreamParams);
    let text = '';
    let thinking = '';
    stream.on('text', (delta) => (text += delta));
    stream.on('thinking', (delta) => (thinking += delta));
    const final = await stream.finalMessage();
    return { text, thinking, final };
  }

  beforeAll(async () => {
    servers = await startLlamaServers(COMBOS);
    for (const s of servers) proxies.set(key(s.build, s.template), await startProxy({ UPSTREAM_URL: s.url, UPSTREAM_PROVIDER: 'llamacpp' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  it.each(COMBOS)('$build ($template): a final assistant turn is continued exactly as llama.cpp continues it, whole, streamed and echoed', async ({ build, template }) => {
    const expected = await truth(build, template, [U as ChatMessage, { role: 'assistant', content: PREFIX }]);
    expect(expected.continuation.length).toBeGreaterThan(0);
    const anthropic = client(build, template);
    const params: Params = { model: 'stories', max_tokens: MAX, ...GREEDY, messages: [U, { role: 'assistant', content: PREFIX }] };
    const { data, response } = await anthropic.messages.create(params).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(textOf(data)).toBe(expected.continuation);
    expect(thinkingOf(data)).toBe('');
    expect(data.stop_reason).toBe(completionFinishReason(expected.answer) === 'length' ? 'max_tokens' : 'end_turn');
    expect(checkMessage(data)).toEqual([]);
    const stream = await streamed(anthropic, params);
    expect(stream.text).toBe(expected.continuation);
    expect(stream.final.stop_reason).toBe(data.stop_reason);
    expect(checkMessage(stream.final)).toEqual([]);
    const echoed = { ...params, echo: true } as Params;
    expect(textOf(await anthropic.messages.create(echoed))).toBe(PREFIX + expected.continuation);
    expect((await streamed(anthropic, echoed)).text).toBe(PREFIX + expected.continuation);
    const raw = await fetch(`${proxies.get(key(build, template))!.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, stream: true }) });
    expect(checkStream(parseNamedEvents(await raw.text()))).toEqual([]);
  });

  it.each(COMBOS)("$build ($template): a conversation ending with a user turn is llama.cpp's own answer", async ({ build, template }) => {
    const expected = (await truth(build, template, [U as ChatMessage])).continuation;
    const { data, response } = await client(build, template).messages.create({ model: 'stories', max_tokens: MAX, ...GREEDY, messages: [U] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    // With the thinking template the answer is thinking (the June 2025 build trims its trailing whitespace).
    if (template === 'think') expect(thinkingOf(data).trimEnd()).toBe(expected.split('</think>')[0]!.trimEnd());
    else expect(textOf(data)).toBe(expected);
    expect(checkMessage(data)).toEqual([]);
  });

  it.each(THINKING)('$build (think): a final turn that starts with a thinking block continues the thinking exactly', async ({ build }) => {
    const expected = await truth(build, 'think', [U as ChatMessage, { role: 'assistant', content: '', reasoning_content: REASONING }]);
    const [thought] = expected.continuation.split('</think>');
    const anthropic = client(build, 'think');
    const params: Params = { model: 'stories', max_tokens: MAX, ...GREEDY, messages: [U, { role: 'assistant', content: [{ type: 'thinking', thinking: REASONING, signature: '' }] }] };
    const data = await anthropic.messages.create(params);
    expect(thinkingOf(data)).toBe(thought);
    expect(data.content[0]).toMatchObject({ type: 'thinking', signature: '' });
    expect(textOf(data)).not.toContain('<think>');
    expect((await streamed(anthropic, params)).thinking).toBe(thought);
    expect(thinkingOf(await anthropic.messages.create({ ...params, echo: true } as Params))).toBe(REASONING + thought);
  });

  it.each(KNOWN_LLAMA_BUILDS.map((build) => ({ build })))('$build: count_tokens is exact, the prompt tokens llama.cpp itself counts for the request', async ({ build }) => {
    const anthropic = client(build, 'chatml');
    for (const messages of [[U], [U, { role: 'assistant' as const, content: PREFIX }]]) {
      const params = { model: 'stories', system: 'You tell short stories.', messages };
      const { data: count, response } = await anthropic.messages.countTokens(params).withResponse();
      expect(response.headers.get('x-token-count')).toBe('exact');
      const answer = await anthropic.messages.create({ ...params, max_tokens: 1, ...GREEDY });
      const usage = answer.usage;
      expect(count.input_tokens).toBe(usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0));
      expect(count.input_tokens).toBeGreaterThan(10);
    }
  });

  it.each(KNOWN_LLAMA_BUILDS.map((build) => ({ build })))("$build: llama.cpp's own errors and the proxy's reach the SDK in Anthropic's shape", async ({ build }) => {
    const anthropic = client(build, 'chatml');
    const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as InstanceType<typeof Anthropic.APIError>);
    if (build === 'de3ff81') {
      const long = await errorOf(anthropic.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'word '.repeat(3000) }] }));
      expect(long!.status).toBe(400);
      expect(long!.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('exceeds the available context size') } });
    } else {
      const tools = await errorOf(anthropic.messages.create({ model: 'stories', max_tokens: 4, messages: [U], tools: [{ name: 'f', input_schema: { type: 'object' } }] }));
      expect(tools!.status).toBe(500);
      expect(tools!.error).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('--jinja') } });
    }
    const document = await errorOf(
      anthropic.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }),
    );
    expect(document!.status).toBe(400);
    expect(document!.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('messages.0.content.0') } });
  });
});
