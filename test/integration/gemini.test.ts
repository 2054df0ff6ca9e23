import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CONTINUATION,
  DEFAULT_GEMINI_KEY,
  DEFAULT_REPLY,
  KNOWN_MODELS,
  PREFILL_REFUSAL_LONG,
  THOUGHT,
  THOUGHT_SIGNATURE,
  startGeminiMock,
  type GeminiMock,
} from '../mocks/gemini.js';
import { SseParser } from '../../src/sse/parser.js';
import { validateChatCompletion, validateChatCompletionChunk, validateErrorResponse } from '../helpers/openai-schema.js';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

/**
 * The proxy in front of the Gemini API mock (written from Google's documentation and proven with the
 * official @google/genai SDK), driven with the official openai SDK.
 */

type Contents = Array<{ role: string; parts: Array<Record<string, unknown>> }>;
const contentsOf = (mock: GeminiMock, at = -1) => mock.requests.at(at)!.json!.contents as Contents;

const PREFIX = 'The quick brown fox';
const messages = [
  { role: 'system' as const, content: 'You finish sentences.' },
  { role: 'user' as const, content: 'Finish the sentence.' },
  { role: 'assistant' as const, content: PREFIX },
];
const model = 'gemini-2.5-flash';
/** The mock's thought summary as it sends it (one space between words). */
const thought = THOUGHT.split(/\s+/).join(' ');
/** An emulated prefill: the mock answers anew (repeating the prefix), and the proxy strips the repeat. */
const EMULATED = DEFAULT_REPLY.slice(PREFIX.length);

describe('Gemini (native API)', () => {
  let mock: GeminiMock;
  let proxy: RunningProxy;
  beforeAll(async () => {
    mock = await startGeminiMock();
    proxy = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY });
  });
  afterAll(async () => {
    await proxy.close();
    await mock.close();
  });

  it("GET /v1/models answers in OpenAI's shape (the SDK lists Gemini's models by bare id), from one page of up to 1,000", async () => {
    const listed: string[] = [];
    for await (const entry of proxy.client.models.list()) listed.push(entry.id);
    expect(listed).toEqual(KNOWN_MODELS);
    expect(mock.requests.at(-1)).toMatchObject({ method: 'GET', url: '/v1beta/models?pageSize=1000' });
    const raw = await fetch(`${proxy.url}/v1/models`);
    expect(raw.status).toBe(200);
    expect(await raw.json()).toMatchObject({ object: 'list', data: expect.arrayContaining([{ id: KNOWN_MODELS[0], object: 'model', created: 0, owned_by: 'google' }]) });
  });

  it('GET /v1/models: a list that is not JSON is a 502 upstream_invalid_response in OpenAI\'s error shape', async () => {
    const { createServer } = await import('node:http');
    const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const front = await startProxy({ UPSTREAM_URL: `http://127.0.0.1:${(page.address() as { port: number }).port}`, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY });
    try {
      const raw = await fetch(`${front.url}/v1/models`);
      expect(raw.status).toBe(502);
      const body = await raw.json();
      expect(validateErrorResponse(body).errors).toEqual([]);
      expect(body).toMatchObject({ error: { code: 'upstream_invalid_response' } });
    } finally {
      await front.close();
      await new Promise<void>((resolve) => page.close(() => resolve()));
    }
  });

  it("GET /v1/models: Gemini's error keeps its status, with the key never echoed", async () => {
    const keyless = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: 'wrong-key-123456' });
    try {
      const raw = await fetch(`${keyless.url}/v1/models`);
      expect(raw.status).toBeGreaterThanOrEqual(400);
      expect(await raw.text()).not.toContain('wrong-key-123456');
    } finally {
      await keyless.close();
    }
  });

  it('continues a prefill with the continuation only, as a trailing model turn on the model path', async () => {
    const { data, response } = await proxy.client.chat.completions.create({ model, messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(DEFAULT_CONTINUATION);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.object).toBe('chat.completion');
    // Tokens are words here: the system instruction (3), the user turn (3) and the prefix (4); answer and thought.
    expect(data.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5 + THOUGHT.split(/\s+/).length });
    const sent = mock.requests.at(-1)!;
    expect(sent.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe(DEFAULT_GEMINI_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.json).toMatchObject({
      systemInstruction: { parts: [{ text: 'You finish sentences.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Finish the sentence.' }] },
        { role: 'model', parts: [{ text: PREFIX }] },
      ],
    });
  });

  it('streamed: the same continuation, usage in its own chunk, [DONE]', async () => {
    const stream = await streamed(proxy.client, { model, messages, stream_options: { include_usage: true } });
    expect(stream.content).toBe(DEFAULT_CONTINUATION);
    expect(stream.finishReason).toBe('stop');
    expect(stream.chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10 } });
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    // Thought summaries come back as reasoning, apart from the content.
    const reasoning = stream.chunks.map((chunk) => (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '').join('');
    expect(reasoning).toBe(thought);
  });

  it('echo: prefix + continuation, streamed and not', async () => {
    expect((await complete(proxy.client, { model, messages, echo: true })).choices[0]!.message.content).toBe(`${PREFIX}${DEFAULT_CONTINUATION}`);
    expect((await streamed(proxy.client, { model, messages, echo: true })).content).toBe(`${PREFIX}${DEFAULT_CONTINUATION}`);
    // A prefix ending in a space is not given a second one.
    const spaced = [...messages.slice(0, 2), { role: 'assistant', content: `${PREFIX} ` }];
    expect((await complete(proxy.client, { model, messages: spaced, echo: true })).choices[0]!.message.content).toBe(`${PREFIX}${DEFAULT_CONTINUATION}`);
  });

  it('a model documented to refuse prefill (3.6 Flash) takes the fallback at once: emulated, streamed and not', async () => {
    const before = mock.requests.length;
    const { data, response } = await proxy.client.chat.completions.create({ model: 'gemini-3.6-flash', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content).toBe(EMULATED);
    expect(mock.requests.length).toBe(before + 1);
    expect(contentsOf(mock).map((content) => content.role)).toEqual(['user', 'model', 'user']);
    const stream = await streamed(proxy.client, { model: 'gemini-3.6-flash', messages });
    expect(stream.content).toBe(EMULATED);
  });

  it('thinking budget → thinkingConfig: a budget on 2.5, a level on 3.x; thoughts come back as reasoning_content', async () => {
    const data = await complete(proxy.client, { model, messages: messages.slice(0, 2), reasoning_budget_tokens: 2000 } as never);
    expect(mock.requests.at(-1)!.json!.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 2000, includeThoughts: true } });
    expect((data.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(thought);
    expect(data.choices[0]!.message.content).toBe(DEFAULT_REPLY);
    await complete(proxy.client, { model: 'gemini-3-flash-preview', messages: messages.slice(0, 2), reasoning_budget_tokens: 500 } as never);
    expect(mock.requests.at(-1)!.json!.generationConfig).toEqual({ thinkingConfig: { thinkingLevel: 'low', includeThoughts: true } });
    const off = await complete(proxy.client, { model, messages: messages.slice(0, 2), reasoning_budget_tokens: 0, max_tokens: 50 } as never);
    expect(mock.requests.at(-1)!.json!.generationConfig).toEqual({ maxOutputTokens: 50, thinkingConfig: { thinkingBudget: 0 } });
    expect((off.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBeUndefined();
    expect(off.usage?.completion_tokens).toBe(DEFAULT_REPLY.split(' ').length);
  });

  it('a request that is not a prefill: translated, x-prefill none, streamed and not', async () => {
    const { data, response } = await proxy.client.chat.completions.create({ model, messages: messages.slice(0, 2), max_tokens: 100, temperature: 0.5 }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(data.choices[0]!.message.content).toBe(DEFAULT_REPLY);
    expect(mock.requests.at(-1)!.json!.generationConfig).toEqual({ maxOutputTokens: 100, temperature: 0.5, thinkingConfig: { includeThoughts: true } });
    const stream = await streamed(proxy.client, { model, messages: messages.slice(0, 2) });
    expect(stream.content).toBe(DEFAULT_REPLY);
    expect(stream.finishReason).toBe('stop');
  });

  it('tools: a function call comes back as tool_calls (its Gemini 3 signature kept), and its result goes back to Gemini', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } } }];
    const ask = { role: 'user' as const, content: 'What is the weather in Paris?' };
    const first = await complete(proxy.client, { model: 'gemini-3-flash-preview', messages: [ask], tools, tool_choice: 'auto' });
    const call = first.choices[0]!.message.tool_calls![0]! as { id: string; type: 'function'; function: { name: string; arguments: string }; extra_content?: unknown };
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"location":"Paris"}' });
    expect(call.extra_content).toEqual({ google: { thought_signature: THOUGHT_SIGNATURE } });
    expect(mock.requests.at(-1)!.json!.tools).toEqual([{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: tools[0]!.function.parameters }] }]);
    // Gemini 3 requires the signature back: the client's copy of the call carries it.
    const second = await complete(proxy.client, {
      model: 'gemini-3-flash-preview',
      messages: [ask, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' }],
      tools,
    });
    expect(second.choices[0]!.message.content).toBe('The get_weather tool returned {"temp":21}.');
    expect(contentsOf(mock)[1]!.parts[0]).toMatchObject({ functionCall: { name: 'get_weather' }, thoughtSignature: THOUGHT_SIGNATURE });
    // A client that dropped the signature gets the documented placeholder, which Gemini 3 accepts.
    const { extra_content: _dropped, ...bare } = call;
    const third = await complete(proxy.client, {
      model: 'gemini-3-flash-preview',
      messages: [ask, { role: 'assistant', content: null, tool_calls: [bare] }, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
      tools,
    });
    expect(third.choices[0]!.message.content).toBe('The get_weather tool returned {"result":"sunny"}.');
    // Streamed, the call arrives as one tool-call delta.
    const stream = await collect(await proxy.client.chat.completions.create({ model, stream: true, messages: [ask], tools }));
    expect(stream.finishReason).toBe('tool_calls');
    expect(stream.chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []).map((delta) => delta.function?.arguments).join('')).toBe('{"location":"Paris"}');
  });

  it("Gemini's errors keep their status and message, the code is Google's status: a 400 and a 404", async () => {
    const bad = await proxy.client.chat.completions
      .create({ model: 'gemini-3-pro-preview', messages: messages.slice(0, 2), google: { thinking_config: { thinking_level: 'minimal' } } } as never)
      .catch((err: unknown) => err);
    expect(bad).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'INVALID_ARGUMENT', message: expect.stringContaining('Thinking level MINIMAL is not supported') });
    const missing = await proxy.client.chat.completions.create({ model: 'gemini-9-ultra', messages }).catch((err: unknown) => err);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND', message: expect.stringContaining('models/gemini-9-ultra is not found') });
    const streamedError = await proxy.client.chat.completions.create({ model: 'gemini-9-ultra', messages, stream: true }).catch((err: unknown) => err);
    expect(streamedError).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('a wrong key: 400 INVALID_ARGUMENT "API key not valid", the key never echoed', async () => {
    const wrong = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: 'AIza-wrong-key' });
    try {
      const error = await wrong.client.chat.completions.create({ model, messages }).catch((err: unknown) => err);
      expect(error).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', message: expect.stringContaining('API key not valid. Please pass a valid API key.') });
      expect(JSON.stringify(error)).not.toContain('AIza-wrong-key');
      const response = await fetch(`${wrong.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages }) });
      expect(response.headers.get('x-prefill')).toBe('none');
    } finally {
      await wrong.close();
    }
  });

  it("every answer the proxy builds from Gemini's is valid against OpenAI's OpenAPI schema, whole, streamed and errors", async () => {
    const post = async (body: Record<string, unknown>) => {
      const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, text: await response.text() };
    };
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }];
    const bodies: Array<Record<string, unknown>> = [
      { model, messages },
      { model: 'gemini-3.6-flash', messages },
      { model: 'gemini-3-flash-preview', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools },
      { model, messages: messages.slice(0, 2), n: 2, max_tokens: 20, reasoning_budget_tokens: 0 },
    ];
    for (const body of bodies) {
      const whole = await post(body);
      expect(whole.status, whole.text).toBe(200);
      expect(validateChatCompletion(JSON.parse(whole.text)).errors, whole.text).toEqual([]);
      const stream = await post({ ...body, stream: true, stream_options: { include_usage: true } });
      const events: string[] = [];
      new SseParser((event) => events.push(event.data)).push(stream.text);
      expect(events.at(-1)).toBe('[DONE]');
      for (const data of events.slice(0, -1)) expect(validateChatCompletionChunk(JSON.parse(data)).errors, data).toEqual([]);
    }
    const error = await post({ model: 'gemini-9-ultra', messages });
    expect(error.status).toBe(404);
    expect(validateErrorResponse(JSON.parse(error.text)).errors).toEqual([]);
  });

  it('mode explicit: a bare trailing assistant message is a clear 400 (Gemini would continue it)', async () => {
    const error = await proxy.client.chat.completions.create({ model, messages }, { headers: { 'x-prefill-mode': 'explicit' } }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'prefill_mode_unsupported' });
  });
});

describe('Gemini through the other front doors', () => {
  let mock: GeminiMock;
  let proxy: RunningProxy;
  beforeAll(async () => {
    mock = await startGeminiMock();
    proxy = await startProxy({ UPSTREAM_PROVIDER: 'gemini', UPSTREAM_URL: mock.url, UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY });
  });
  afterAll(async () => {
    await proxy.close();
    await mock.close();
  });
  const conversation = [
    { role: 'user' as const, content: 'Finish the sentence.' },
    { role: 'assistant' as const, content: PREFIX },
  ];

  it('Anthropic Messages (official SDK): the prefill continued, whole and streamed; thoughts as thinking; a refusing model emulated', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await anthropic.messages.create({ model, max_tokens: 256, system: 'You finish sentences.', messages: conversation }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn' });
    expect(data.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')).toBe(DEFAULT_CONTINUATION);
    expect(data.content.flatMap((block) => (block.type === 'thinking' ? [block.thinking] : [])).join('')).toBe(thought);
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(mock.requests.at(-1)!.json).toMatchObject({ systemInstruction: { parts: [{ text: 'You finish sentences.' }] }, generationConfig: { maxOutputTokens: 256 } });
    const stream = anthropic.messages.stream({ model, max_tokens: 256, messages: conversation });
    expect(await stream.finalText()).toBe(DEFAULT_CONTINUATION);
    expect((await stream.finalMessage()).stop_reason).toBe('end_turn');
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    const emulated = await anthropic.messages.create({ model: 'gemini-3.6-flash', max_tokens: 256, messages: conversation }).withResponse();
    expect(emulated.response.headers.get('x-prefill')).toBe('emulated');
    expect(emulated.data.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')).toBe(EMULATED);
  });

  it('OpenAI Responses (official SDK): the prefill continued, whole and streamed', async () => {
    const { data, response } = await proxy.client.responses.create({ model, input: conversation }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe(DEFAULT_CONTINUATION);
    const stream = await proxy.client.responses.create({ model, input: conversation, stream: true });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = true;
    }
    expect(text).toBe(DEFAULT_CONTINUATION);
    expect(completed).toBe(true);
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });
});

describe('Gemini: a model that refuses prefill without the proxy knowing it', () => {
  let mock: GeminiMock;
  let proxy: RunningProxy;
  beforeAll(async () => {
    // Every Gemini 3 model refuses here, with the longer wording one report quotes.
    mock = await startGeminiMock({ noPrefillModels: /^gemini-3/, prefillRefusalMessage: PREFILL_REFUSAL_LONG });
    proxy = await startProxy({ UPSTREAM_URL: `${mock.url}/v1beta`, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY });
  });
  afterAll(async () => {
    await proxy.close();
    await mock.close();
  });

  it('takes the fallback after its 400: emulated, streamed and not', async () => {
    const before = mock.requests.length;
    const { data, response } = await proxy.client.chat.completions.create({ model: 'gemini-3-flash-preview', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content).toBe(EMULATED);
    const roles = mock.requests.slice(before).map((request) => (request.json!.contents as Contents).at(-1)!.role);
    // The refused prefill (ending on the model's turn), then the emulation (ending on a user turn); a
    // model the proxy has learned refuses goes to the emulation at once.
    expect(roles[0]).toBe('model');
    expect(roles.at(-1)).toBe('user');
    const stream = await streamed(proxy.client, { model: 'gemini-3.1-pro-preview', messages });
    expect(stream.content).toBe(EMULATED);
  });

  it('the refusing model is remembered: the next prefill goes to the fallback at once', async () => {
    await proxy.client.chat.completions.create({ model: 'gemini-3-pro-preview', messages });
    const before = mock.requests.length;
    const { data, response } = await proxy.client.chat.completions.create({ model: 'gemini-3-pro-preview', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content).toBe(EMULATED);
    expect(mock.requests.length).toBe(before + 1);
    expect((mock.requests.at(-1)!.json!.contents as Contents).at(-1)!.role).toBe('user');
  });

  it('with PREFILL_FALLBACK=reject, a clear 400', async () => {
    const strict = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY, PREFILL_FALLBACK: 'reject' });
    try {
      const error = await strict.client.chat.completions.create({ model: 'gemini-3.6-flash', messages }).catch((err: unknown) => err);
      expect(error).toMatchObject({ status: 400, code: 'prefill_not_supported' });
    } finally {
      await strict.close();
    }
  });
});

describe('Gemini failing mid-stream', () => {
  it('the in-stream error event reaches the SDK as an error, with no [DONE]', async () => {
    const mock = await startGeminiMock({ failAfterChunks: 2 });
    // Not resumed (RESUME_ATTEMPTS=0): the error itself is what is checked here.
    const proxy = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'gemini', UPSTREAM_API_KEY: DEFAULT_GEMINI_KEY, RESUME_ATTEMPTS: '0' });
    try {
      const stream = await proxy.client.chat.completions.create({ model: 'gemini-2.5-flash-lite', stream: true, messages: messages.slice(0, 2) });
      const error = await collect(stream).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('The model is overloaded') });
    } finally {
      await proxy.close();
      await mock.close();
    }
  });
});
