/**
 * The Responses door in front of every provider's mock: a prefill is continued exactly as the chat door
 * continues it (the same pipeline, so the same continuation), whole, streamed and echoed; `"status":
 * "in_progress"` forces it in mode explicit; a request that is not a prefill is answered; fields an
 * upstream cannot honour are a 400 naming them; a stream cut mid-way ends with `error` and
 * `response.failed`. Every answer and every event is checked against OpenAI's published schema.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { validateErrorResponse, validateResponse, validateResponseStreamEvent } from '../helpers/openai-schema.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { startAnthropic } from '../mocks/anthropic.js';
import { startDeepSeek } from '../mocks/deepseek.js';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import { startMistral } from '../mocks/mistral.js';
import { startOpenAI } from '../mocks/openai.js';
import { startMockServer, startSse, writeEvent, type MockServer } from '../mocks/server.js';
import { startThinkingLlamaCpp } from '../mocks/thinking-llamacpp.js';
import { startVllm } from '../mocks/vllm.js';

type Event = Record<string, unknown> & { type: string; sequence_number: number };

interface Setup {
  name: string;
  model: string;
  start: () => Promise<MockServer>;
  env: (url: string) => Record<string, string>;
  /** It cannot start a new turn after an assistant message: explicit mode with a bare one is a 400. */
  noNewTurn?: boolean;
  /** How the prefill is served. */
  served: 'native' | 'emulated';
  /** Its mock reports no usage in streams (OpenAI's mock ignores stream_options): the Response has none. */
  noStreamUsage?: boolean;
}

const SETUPS: Setup[] = [
  { name: 'llama.cpp 2025', model: 'q', start: () => startLlamaCpp({ build: '2025' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true, served: 'native' },
  { name: 'llama.cpp 2026-09', model: 'q', start: () => startLlamaCpp({ build: '2026-09' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true, served: 'native' },
  { name: 'llama.cpp thinking', model: 'q', start: () => startThinkingLlamaCpp(), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true, served: 'native' },
  { name: 'vLLM', model: 'Qwen/Qwen2.5-0.5B-Instruct', start: () => startVllm(), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'vllm' }), served: 'native' },
  { name: 'DeepSeek', model: 'deepseek-chat', start: () => startDeepSeek(), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }), noNewTurn: true, served: 'native' },
  { name: 'Mistral', model: 'mistral-small-latest', start: () => startMistral(), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'mistral', UPSTREAM_API_KEY: 'sk-mistral' }), noNewTurn: true, served: 'native' },
  { name: 'Anthropic', model: 'claude-sonnet-4-5', start: () => startAnthropic({ apiKey: 'sk-ant-test' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }), noNewTurn: true, served: 'native' },
  { name: 'Anthropic 4.6', model: 'claude-opus-4-6', start: () => startAnthropic({ apiKey: 'sk-ant-test' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }), noNewTurn: true, served: 'emulated' },
  { name: 'OpenAI', model: 'gpt-4o-mini', start: () => startOpenAI({ apiKey: 'sk-openai' }), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: 'sk-openai' }), served: 'emulated', noStreamUsage: true },
];

async function post(proxy: RunningProxy, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, prefill: response.headers.get('x-prefill'), text: await response.text() };
}

function whole(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as Record<string, unknown>;
  const result = body.object === 'response' ? validateResponse(body) : validateErrorResponse(body);
  expect(result.errors, text).toEqual([]);
  return body;
}

function events(text: string): Event[] {
  const out: Event[] = [];
  new SseParser((event) => {
    const data = JSON.parse(event.data) as Event;
    expect(event.event, event.data).toBe(data.type);
    expect(validateResponseStreamEvent(data).errors, event.data).toEqual([]);
    out.push(data);
  }).push(text);
  out.forEach((event, index) => expect(event.sequence_number).toBe(index));
  return out;
}

const itemsText = (response: Record<string, unknown>, type: 'message' | 'reasoning') =>
  (response.output as Array<{ type: string; content?: Array<{ text?: string }> }>)
    .filter((item) => item.type === type)
    .flatMap((item) => item.content ?? [])
    .map((part) => part.text ?? '')
    .join('');

function streamed(text: string) {
  const list = events(text);
  const join = (type: string) => list.filter((event) => event.type === type).map((event) => event.delta as string).join('');
  return { events: list, text: join('response.output_text.delta'), reasoning: join('response.reasoning_text.delta'), last: list.at(-1)! };
}

const user = { role: 'user', content: 'Tell me a story.' };
const partial = { role: 'assistant', content: 'Once upon a time' };

for (const setup of SETUPS) {
  describe(`the Responses door in front of ${setup.name}`, () => {
    let upstream: MockServer;
    let proxy: RunningProxy;
    beforeAll(async () => {
      upstream = await setup.start();
      proxy = await startProxy(setup.env(upstream.url));
    });
    afterAll(async () => {
      await proxy.close();
      await upstream.close();
    });

    /** The chat door's answer to the same conversation: the same pipeline gives the same continuation. */
    async function chatAnswer(messages: unknown[], extra: Record<string, unknown> = {}) {
      const data = await proxy.client.chat.completions.create({ model: setup.model, max_tokens: 40, messages, ...extra } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
      const message = data.choices[0]!.message as { content: string | null; reasoning_content?: string };
      return { content: message.content ?? '', reasoning: message.reasoning_content ?? '' };
    }

    it(`a prefill is continued (${setup.served}) as on the chat door: whole, streamed, echoed, with the SDK`, async () => {
      const expected = await chatAnswer([user, partial]);
      expect(expected.content.length).toBeGreaterThan(0);
      const body = { model: setup.model, max_output_tokens: 40, input: [user, partial] };
      const plain = await post(proxy, body);
      expect(plain.status, plain.text).toBe(200);
      expect(plain.prefill).toBe(setup.served);
      const answer = whole(plain.text);
      expect(itemsText(answer, 'message')).toBe(expected.content);
      expect(itemsText(answer, 'reasoning')).toBe(expected.reasoning);

      const stream = await post(proxy, { ...body, stream: true });
      expect(stream.prefill).toBe(setup.served);
      const result = streamed(stream.text);
      expect(result.text).toBe(expected.content);
      expect(result.reasoning).toBe(expected.reasoning);
      expect(result.last.type).toBe('response.completed');
      expect(itemsText(result.last.response as Record<string, unknown>, 'message')).toBe(expected.content);
      const usage = (result.last.response as { usage?: { output_tokens: number } }).usage;
      if (setup.noStreamUsage) expect(usage).toBeUndefined();
      else expect(usage?.output_tokens).toBeGreaterThan(0);

      const echoed = await post(proxy, { ...body, echo: true });
      expect(itemsText(whole(echoed.text), 'message')).toBe(`Once upon a time${expected.content}`);
      expect(streamed((await post(proxy, { ...body, echo: true, stream: true })).text).text).toBe(`Once upon a time${expected.content}`);

      const sdk = await proxy.client.responses.stream({ model: setup.model, max_output_tokens: 40, input: [user, partial] as OpenAI.Responses.ResponseInput }).finalResponse();
      expect(sdk.output_text).toBe(expected.content);
    });

    it('"status": "in_progress" forces the prefill in mode explicit; a bare message there is a new turn or a clear 400', async () => {
      const explicit = { 'x-prefill-mode': 'explicit' };
      const expected = await chatAnswer([user, partial]);
      const marked = await post(proxy, { model: setup.model, max_output_tokens: 40, input: [user, { ...partial, status: 'in_progress' }] }, explicit);
      expect(marked.status, marked.text).toBe(200);
      expect(marked.prefill).toBe(setup.served);
      expect(itemsText(whole(marked.text), 'message')).toBe(expected.content);
      const bare = await post(proxy, { model: setup.model, max_output_tokens: 40, input: [user, partial] }, explicit);
      expect(bare.prefill).toBe('none');
      if (setup.noNewTurn) {
        expect(bare.status).toBe(400);
        const error = whole(bare.text) as { error: { param: string; code: string; message: string } };
        expect(error.error).toMatchObject({ param: 'input[1]', code: 'prefill_mode_unsupported' });
        expect(error.error.message).toContain('"status": "in_progress"');
        expect(error.error.message).not.toContain('"prefix"');
      } else {
        expect(bare.status, bare.text).toBe(200);
        whole(bare.text);
      }
    });

    it('input that is not a prefill is answered, whole and streamed', async () => {
      const plain = await post(proxy, { model: setup.model, max_output_tokens: 40, input: 'Tell me a story.', instructions: 'Be brief.' });
      expect(plain.status, plain.text).toBe(200);
      expect(plain.prefill).toBe('none');
      const answer = whole(plain.text);
      expect(answer.instructions).toBe('Be brief.');
      const stream = await post(proxy, { model: setup.model, max_output_tokens: 40, input: [user], stream: true });
      expect(stream.status, stream.text).toBe(200);
      expect(streamed(stream.text).last.type).toMatch(/^response\.(completed|incomplete)$/);
    });
  });
}

describe('fields an upstream cannot honour are a 400 naming them; those it can go on in its terms', () => {
  const proxies: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const closable of proxies.reverse()) await closable.close();
  });
  async function inFront(start: () => Promise<MockServer>, env: (url: string) => Record<string, string>) {
    const upstream = await start();
    const proxy = await startProxy(env(upstream.url));
    proxies.push(upstream, proxy);
    return { upstream, proxy };
  }

  it('reasoning.effort: refused by llama.cpp and DeepSeek, taken by vLLM (reasoning_effort) and Anthropic (thinking)', async () => {
    const llama = await inFront(() => startLlamaCpp({ build: '2025' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }));
    const refused = await post(llama.proxy, { model: 'q', input: 'Hi', reasoning: { effort: 'high' } });
    expect(refused.status).toBe(400);
    expect(whole(refused.text)).toMatchObject({ error: { param: 'reasoning.effort', code: 'unsupported_parameter', message: expect.stringContaining('llamacpp') } });
    expect(llama.upstream.requests.length).toBe(0);
    const deepseek = await inFront(() => startDeepSeek(), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }));
    expect((await post(deepseek.proxy, { model: 'deepseek-chat', input: 'Hi', reasoning: { effort: 'low' } })).status).toBe(400);
    const vllm = await inFront(() => startVllm(), (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'vllm' }));
    const taken = await post(vllm.proxy, { model: 'Qwen/Qwen2.5-0.5B-Instruct', input: 'Hi', reasoning: { effort: 'low' }, max_output_tokens: 20 });
    expect(taken.status, taken.text).toBe(200);
    expect(vllm.upstream.requests.at(-1)!.json).toMatchObject({ reasoning_effort: 'low', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    const anthropic = await inFront(() => startAnthropic({ apiKey: 'sk-ant-test' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }));
    const thought = await post(anthropic.proxy, { model: 'claude-sonnet-4-5', input: 'Hi', reasoning: { effort: 'low' }, max_output_tokens: 4000 });
    expect(thought.status, thought.text).toBe(200);
    expect(anthropic.upstream.requests.at(-1)!.json).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 } });
  });

  it('text.format: json_schema refused by Anthropic and DeepSeek; json_object taken by DeepSeek as response_format', async () => {
    const deepseek = await inFront(() => startDeepSeek(), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }));
    const schema = { type: 'json_schema', name: 'out', schema: { type: 'object' } };
    expect(whole((await post(deepseek.proxy, { model: 'deepseek-chat', input: 'Hi', text: { format: schema } })).text)).toMatchObject({ error: { param: 'text.format' } });
    const json = await post(deepseek.proxy, { model: 'deepseek-chat', input: 'Give JSON.', text: { format: { type: 'json_object' } } });
    expect(json.status, json.text).toBe(200);
    expect(deepseek.upstream.requests.at(-1)!.json).toMatchObject({ response_format: { type: 'json_object' } });
    const anthropic = await inFront(() => startAnthropic({ apiKey: 'sk-ant-test' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }));
    expect((await post(anthropic.proxy, { model: 'claude-sonnet-4-5', input: 'Hi', text: { format: schema } })).status).toBe(400);
  });

  it('function tools, calls and their outputs reach Anthropic as its tool_use and tool_result blocks', async () => {
    const anthropic = await inFront(() => startAnthropic({ apiKey: 'sk-ant-test' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }));
    const answer = await post(anthropic.proxy, {
      model: 'claude-sonnet-4-5',
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: 'toolu_1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'toolu_1', output: 'Sunny' },
      ],
    });
    expect(answer.status, answer.text).toBe(200);
    whole(answer.text);
    const sent = anthropic.upstream.requests.at(-1)!.json as { tools: unknown[]; messages: unknown[] };
    expect(sent.tools).toEqual([{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] },
    ]);
  });
});

describe('a tool call from the upstream is a function_call output item', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test' });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('whole, streamed (function_call_arguments events) and through responses.stream', async () => {
    const body = { model: 'claude-sonnet-4-5', input: 'Weather in Paris?', tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } }], tool_choice: 'required' };
    const answer = whole((await post(proxy, body)).text);
    const call = (answer.output as Array<Record<string, unknown>>).find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ call_id: 'toolu_01A09q90qw90lq917835lq9', name: 'weather', arguments: '{"location":"Paris"}', status: 'completed' });
    expect(upstream.requests.at(-1)!.json).toMatchObject({ tool_choice: { type: 'any' } });
    const result = streamed((await post(proxy, { ...body, stream: true })).text);
    const done = result.events.find((event) => event.type === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ name: 'weather' });
    expect(JSON.parse(done!.arguments as string)).toEqual({ location: 'Paris' });
    const final = await proxy.client.responses.stream(body as Parameters<typeof proxy.client.responses.stream>[0]).finalResponse();
    const streamedCall = final.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(streamedCall).toMatchObject({ name: 'weather', call_id: 'toolu_01A09q90qw90lq917835lq9', status: 'completed' });
    expect(JSON.parse(streamedCall.arguments)).toEqual({ location: 'Paris' });
  });
});

describe('a stream that fails mid-way ends with error and response.failed, never as if complete', () => {
  const chunk = (content: string) => ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }] });
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startMockServer(async (request, res) => {
      const mode = (request.json?.model as string) ?? '';
      startSse(res);
      if (mode === 'responses-cut') {
        res.write(`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response: { id: 'resp_up', object: 'response', status: 'in_progress', output: [] } })}\n\n`);
        return void res.end();
      }
      writeEvent(res, chunk('Once'));
      writeEvent(res, chunk(' upon'));
      if (mode === 'lost') return void setTimeout(() => res.destroy(), 50);
      res.end(); // no finish, no [DONE]: truncated
    });
    // No resumed stream (RESUME_ATTEMPTS=0): this upstream would only fail the same way again.
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'openai-compatible', UPSTREAM_RETRIES: '0', RESUME_ATTEMPTS: '0' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it.each(['lost', 'truncated'])('upstream %s: the text so far, then error and response.failed', async (mode) => {
    const answer = await post(proxy, { model: mode, input: [user, partial], stream: true });
    expect(answer.status).toBe(200);
    const result = streamed(answer.text);
    expect(result.text).toBe('Once upon');
    expect(result.events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
    expect(result.events.at(-2)).toMatchObject({ code: mode === 'lost' ? expect.stringMatching(/^upstream_/) : 'upstream_stream_truncated' });
    expect(result.last.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(result.events.some((event) => event.type === 'response.completed')).toBe(false);
    // The SDK's stream helper raises it.
    const failure = await proxy.client.responses.stream({ model: mode, input: 'Hi' }).finalResponse().catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'error' });
  });

  it('behind an upstream that speaks Responses (OpenAI), a cut stream gets the error event after its own events', async () => {
    const openai = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_RETRIES: '0', RESUME_ATTEMPTS: '0' });
    try {
      const answer = await post(openai, { model: 'responses-cut', input: 'Hi', stream: true });
      expect(upstream.requests.at(-1)!.url).toBe('/v1/responses');
      const list: Event[] = [];
      new SseParser((event) => list.push(JSON.parse(event.data) as Event)).push(answer.text);
      expect(list.map((event) => event.type)).toEqual(['response.created', 'error']);
      expect(list.at(-1)).toMatchObject({ code: 'upstream_stream_truncated', param: null });
      expect(validateResponseStreamEvent(list.at(-1)).errors).toEqual([]);
    } finally {
      await openai.close();
    }
  });
});
