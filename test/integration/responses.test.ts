/**
 * The Responses door (`POST /v1/responses`) in front of the built-in mock, and in front of OpenAI (its
 * mock), where a request that is not a prefill goes as it came. Driven by the official `openai` SDK
 * (`responses.create`, streamed and not, and `responses.stream`); every answer and every stream event the
 * proxy writes is checked against OpenAI's published schema, on the wire.
 */
import fc from 'fast-check';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { MOCK_ANSWER, MOCK_CONTINUATION, MOCK_REPLY, MOCK_THOUGHT, MOCK_THOUGHT_END, mockTokens } from '../../src/providers/mock/model.js';
import { SseParser } from '../../src/sse/parser.js';
import { validateErrorResponse, validateResponse, validateResponseStreamEvent } from '../helpers/openai-schema.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { RESPONSES_FOLLOW_UP, RESPONSES_REPLY, startOpenAI } from '../mocks/openai.js';
import type { MockServer } from '../mocks/server.js';

type Event = Record<string, unknown> & { type: string; sequence_number: number };
type Params = OpenAI.Responses.ResponseCreateParamsNonStreaming;

async function post(proxy: RunningProxy, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, prefill: response.headers.get('x-prefill'), type: response.headers.get('content-type'), text: await response.text() };
}

/** A whole answer, valid against the schema (a Response, or an error). */
function whole(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as Record<string, unknown>;
  const result = body.object === 'response' ? validateResponse(body) : validateErrorResponse(body);
  expect(result.errors, text).toEqual([]);
  return body;
}

/** A stream's events: each valid against the schema, named as its type, numbered in order from 0. */
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

/** The text of a Response's message items (what the SDK calls `output_text`). */
function textOf(response: Record<string, unknown>): string {
  let text = '';
  for (const item of response.output as Array<{ type: string; content?: Array<{ type: string; text?: string }> }>) {
    if (item.type === 'message') for (const part of item.content ?? []) if (part.type === 'output_text') text += part.text;
  }
  return text;
}

function reasoningOf(response: Record<string, unknown>): string | undefined {
  const item = (response.output as Array<{ type: string; content?: Array<{ text: string }> }>).find((entry) => entry.type === 'reasoning');
  return item?.content?.map((part) => part.text).join('');
}

/** What a streamed answer's text deltas add up to, and its final Response. */
function streamed(text: string) {
  const list = events(text);
  const deltas = list.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta as string);
  const reasoning = list.filter((event) => event.type === 'response.reasoning_text.delta').map((event) => event.delta as string);
  const last = list.at(-1)!;
  return { events: list, text: deltas.join(''), reasoning: reasoning.join(''), firstDelta: deltas[0], final: last.response as Record<string, unknown>, last: last.type };
}

const user = { role: 'user', content: 'Tell me a story.' };
const partial = { role: 'assistant', content: 'Once upon a time' };

describe('the Responses door in front of the built-in mock', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(() => proxy.close());

  it('responses.create: a final assistant message is continued, the output holding the continuation only', async () => {
    const { data, response } = await proxy.client.responses.create({ model: 'mock-1', input: [user, partial] as Params['input'] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.output_text).toBe(MOCK_CONTINUATION);
    expect(data).toMatchObject({ object: 'response', status: 'completed', model: 'mock-1', incomplete_details: null, store: false });
    expect(data.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: mockTokens(MOCK_CONTINUATION).length });
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens);
    const raw = await post(proxy, { model: 'mock-1', input: [user, partial] });
    expect(raw.prefill).toBe('native');
    expect(textOf(whole(raw.text))).toBe(MOCK_CONTINUATION);
  });

  it('responses.create streamed: the Responses event sequence, every event valid, the deltas the continuation only', async () => {
    const stream = await proxy.client.responses.create({ model: 'mock-1', input: [user, partial] as Params['input'], stream: true });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(text).toBe(MOCK_CONTINUATION);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(completed?.usage?.output_tokens).toBe(mockTokens(MOCK_CONTINUATION).length);

    const raw = await post(proxy, { model: 'mock-1', input: [user, partial], stream: true });
    expect(raw.prefill).toBe('native');
    expect(raw.type).toContain('text/event-stream');
    const result = streamed(raw.text);
    expect(result.text).toBe(MOCK_CONTINUATION);
    expect(result.last).toBe('response.completed');
    expect(textOf(result.final)).toBe(MOCK_CONTINUATION);
  });

  it('responses.stream: the helper builds the same Response from the events', async () => {
    const stream = proxy.client.responses.stream({ model: 'mock-1', input: [user, partial] as Params['input'] });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(MOCK_CONTINUATION);
    expect(deltas.join('')).toBe(MOCK_CONTINUATION);
    expect(final.status).toBe('completed');
  });

  it('"status": "in_progress" makes it a prefill in mode explicit; a bare message there is a finished turn', async () => {
    const marked = { ...partial, status: 'in_progress' };
    const explicit = { 'x-prefill-mode': 'explicit' };
    for (const stream of [false, true]) {
      const continued = await post(proxy, { model: 'mock-1', input: [user, marked], stream }, explicit);
      expect(continued.prefill).toBe('native');
      expect(stream ? streamed(continued.text).text : textOf(whole(continued.text))).toBe(MOCK_CONTINUATION);
      const bare = await post(proxy, { model: 'mock-1', input: [user, partial], stream }, explicit);
      expect(bare.prefill).toBe('none');
      expect(stream ? streamed(bare.text).text : textOf(whole(bare.text))).toBe(MOCK_REPLY);
    }
    const sdk = await proxy.client.responses.create({ model: 'mock-1', input: [user, marked] as Params['input'] }, { headers: explicit });
    expect(sdk.output_text).toBe(MOCK_CONTINUATION);
    // Mode off: nothing is served (the mock, which reads the flag itself, may still continue).
    expect((await post(proxy, { model: 'mock-1', input: [user, marked] }, { 'x-prefill-mode': 'off' })).prefill).toBe('none');
  });

  it('"status": "completed" is never a prefill: the model answers anew', async () => {
    const done = await post(proxy, { model: 'mock-1', input: [user, { ...partial, status: 'completed' }] });
    expect(done.prefill).toBe('none');
    expect(textOf(whole(done.text))).toBe(MOCK_REPLY);
  });

  it('echo: prefix + continuation, whole and streamed (the prefix in the first delta)', async () => {
    const body = { model: 'mock-1', input: [user, partial], echo: true };
    expect(textOf(whole((await post(proxy, body)).text))).toBe(`Once upon a time${MOCK_CONTINUATION}`);
    const result = streamed((await post(proxy, { ...body, stream: true })).text);
    expect(result.text).toBe(`Once upon a time${MOCK_CONTINUATION}`);
    expect(result.firstDelta?.startsWith('Once upon a time')).toBe(true);
  });

  it('input that is not a prefill: a string, or items ending with a user message', async () => {
    const { data, response } = await proxy.client.responses.create({ model: 'mock-1', input: 'Hello', instructions: 'Be kind.' }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(data.output_text).toBe(MOCK_REPLY);
    expect(data.instructions).toBe('Be kind.');
    const raw = await post(proxy, { model: 'mock-1', input: [user], stream: true, store: false, include: [] });
    expect(raw.prefill).toBe('none');
    expect(streamed(raw.text).text).toBe(MOCK_REPLY);
  });

  it('max_output_tokens: an answer cut at the limit is incomplete, with its reason, whole and streamed', async () => {
    const body = { model: 'mock-1', input: [user, partial], max_output_tokens: 3 };
    const cut = whole((await post(proxy, body)).text);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 3 });
    expect(textOf(cut)).toBe(mockTokens(MOCK_CONTINUATION).slice(0, 3).join(''));
    const result = streamed((await post(proxy, { ...body, stream: true })).text);
    expect(result.last).toBe('response.incomplete');
    expect(result.final).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('a final reasoning item continues the thinking (mock-thinker); the answer follows, reasoning in its own item', async () => {
    const input = [user, { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'The user wants a fox story,' }] }];
    const answer = whole((await post(proxy, { model: 'mock-thinker', input })).text);
    expect(reasoningOf(answer)).toBe(MOCK_THOUGHT_END);
    expect(textOf(answer)).toBe(MOCK_ANSWER);
    expect((answer.output as Array<{ type: string }>).map((item) => item.type)).toEqual(['reasoning', 'message']);
    const result = streamed((await post(proxy, { model: 'mock-thinker', input, stream: true, echo: true })).text);
    expect(result.reasoning).toBe(`The user wants a fox story,${MOCK_THOUGHT_END}`);
    expect(result.text).toBe(MOCK_ANSWER);
  });

  it('the thinking budget: thinking stopped at the budget, closed, and the answer in the same Response', async () => {
    const body = { model: 'mock-thinker', input: 'Tell me a story.', reasoning_budget_tokens: 10 };
    const { data, response } = await proxy.client.responses.create(body as Params).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    const reasoning = data.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.content?.[0]?.text).toBe(mockTokens(MOCK_THOUGHT).slice(0, 9).join('').trimStart());
    expect(data.output_text).toBe(MOCK_ANSWER);
    expect(data.usage?.output_tokens).toBe(10 + mockTokens(MOCK_ANSWER).length);
    const result = streamed((await post(proxy, { ...body, stream: true })).text);
    expect(result.reasoning).toBe(mockTokens(MOCK_THOUGHT).slice(0, 9).join('').trimStart());
    expect(result.text).toBe(MOCK_ANSWER);
    expect(result.final.usage).toMatchObject({ output_tokens: 10 + mockTokens(MOCK_ANSWER).length });
    // reasoning item, then message
    const added = result.events.filter((event) => event.type === 'response.output_item.added').map((event) => (event.item as { type: string }).type);
    expect(added).toEqual(['reasoning', 'message']);
  });

  it('reports the request\'s own settings in the Response (tools, tool_choice, text.format, metadata)', async () => {
    const tools = [{ type: 'function' as const, name: 'weather', description: 'Weather now', parameters: { type: 'object', properties: {} }, strict: false }];
    const data = await proxy.client.responses.create({
      model: 'mock-1',
      input: 'Hi',
      tools,
      tool_choice: 'auto',
      temperature: 0.3,
      metadata: { run: '1' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' } } },
      reasoning: { effort: 'low' },
    });
    expect(data).toMatchObject({ tools: [{ type: 'function', name: 'weather', strict: false }], temperature: 0.3, metadata: { run: '1' }, text: { format: { type: 'json_schema', name: 'out' } }, reasoning: { effort: 'low' } });
  });

  it('errors are in OpenAI\'s shape with x-prefill: none, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string, string | null, Record<string, string>?]> = [
      [{ model: 'mock-1', input: [{ role: 'user', content: [{ type: 'input_text' }] }] }, 'input[0].content[0].text', 'invalid_request_body'],
      [{ model: 'mock-1', input: 'Hi', store: true }, 'store', 'unsupported_parameter'],
      [{ model: 'mock-1', input: 'Hi', previous_response_id: 'resp_1' }, 'previous_response_id', 'unsupported_parameter'],
      [{ model: 'mock-1', input: 'Hi', tools: [{ type: 'web_search' }] }, 'tools[0].type', 'unsupported_parameter'],
      [{ model: 'mock-1', input: [{ type: 'item_reference', id: 'msg_1' }, user] }, 'input[0].type', 'unsupported_parameter'],
      [{ model: 'mock-1', input: [user, partial] }, 'x-prefill-mode', 'invalid_prefill_mode', { 'x-prefill-mode': 'sideways' }],
    ];
    for (const [body, param, code, headers] of cases) {
      const answer = await post(proxy, body, headers);
      expect(answer.status, answer.text).toBe(400);
      expect(answer.prefill).toBe('none');
      expect(whole(answer.text)).toMatchObject({ error: { param, code, type: 'invalid_request_error' } });
    }
    const error = await proxy.client.responses.create({ model: 'mock-1', input: 'Hi', store: true }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, param: 'store', code: 'unsupported_parameter' });
    expect((error as Error).message).toContain('keeps no');
    const notJson = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(whole(await notJson.text())).toMatchObject({ error: { code: 'invalid_json' } });
  });
});

describe('the Responses door in front of OpenAI (mock)', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startOpenAI({ apiKey: 'sk-openai' });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: 'sk-openai' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('the mock speaks the Responses API as OpenAI documents it (proven with the SDK, every event valid)', async () => {
    const client = new (await import('openai')).default({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-openai', maxRetries: 0 });
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    expect(first.output_text).toBe(RESPONSES_REPLY);
    expect(validateResponse(JSON.parse(JSON.stringify(first))).errors).toEqual([]);
    const next = await client.responses.stream({ model: 'gpt-4o-mini', input: 'Again?', previous_response_id: first.id }).finalResponse();
    expect(next.output_text).toBe(RESPONSES_FOLLOW_UP);
    expect(next.previous_response_id).toBe(first.id);
    const unknown = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi', echo: true } as Params).catch((err: unknown) => err);
    expect(unknown).toMatchObject({ status: 400, code: 'unknown_parameter', param: 'echo' });
    const missing = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi', previous_response_id: 'resp_nope' }).catch((err: unknown) => err);
    expect(missing).toMatchObject({ status: 400, code: 'previous_response_not_found' });
    const raw = await fetch(`${upstream.url}/v1/responses`, { method: 'POST', headers: { authorization: 'Bearer sk-openai', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'Hi', stream: true }) });
    expect(streamed(await raw.text()).text).toBe(RESPONSES_REPLY);
  });

  it('a request that is not a prefill goes to /v1/responses as it came, store and previous_response_id with it; the answer passes untouched', async () => {
    const body = { model: 'gpt-4o-mini', input: 'Hi', store: true, tools: [{ type: 'web_search' }], include: ['reasoning.encrypted_content'] };
    const first = await post(proxy, body);
    expect(first.status, first.text).toBe(200);
    expect(first.prefill).toBe('none');
    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/responses');
    expect(sent.json).toEqual(body);
    expect(sent.headers.authorization).toBe('Bearer sk-openai');
    const answer = JSON.parse(first.text) as Record<string, unknown>;
    // OpenAI's own object (its id, its fields), not one the proxy built.
    expect(answer).toMatchObject({ id: expect.stringMatching(/^resp_mock/), service_tier: 'default', store: true });
    const { data } = await proxy.client.responses.create({ model: 'gpt-4o-mini', input: 'Again?', previous_response_id: answer.id as string }).withResponse();
    expect(data.output_text).toBe(RESPONSES_FOLLOW_UP);
    expect(upstream.requests.at(-1)!.json).toMatchObject({ previous_response_id: answer.id });
  });

  it('streamed untouched too (the upstream\'s events and sequence), the proxy\'s own fields never sent', async () => {
    const raw = await post(proxy, { model: 'gpt-4o-mini', input: 'Hi', stream: true, echo: true });
    expect(raw.status, raw.text).toBe(200);
    const result = streamed(raw.text);
    expect(result.text).toBe(RESPONSES_REPLY);
    expect(result.final.id).toMatch(/^resp_mock/);
    expect(upstream.requests.at(-1)!.json).toEqual({ model: 'gpt-4o-mini', input: 'Hi', stream: true });
    const sdk = await proxy.client.responses.stream({ model: 'gpt-4o-mini', input: 'Hi' }).finalResponse();
    expect(sdk.output_text).toBe(RESPONSES_REPLY);
  });

  it('OpenAI\'s own errors reach the client in its shape, with its status and param', async () => {
    const error = await proxy.client.responses.create({ model: 'gpt-4o-mini', input: 'Hi', previous_response_id: 'resp_nope' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
  });

  it('a prefill is emulated through Chat Completions (OpenAI cannot continue one): the continuation only', async () => {
    const { data, response } = await proxy.client.responses.create({ model: 'gpt-4o-mini', input: [user, { role: 'assistant', content: 'The quick brown fox' }] as Params['input'] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.output_text).toBe(' jumped over the lazy dog.');
    expect(upstream.requests.at(-1)!.url).toBe('/v1/chat/completions');
    const raw = await post(proxy, { model: 'gpt-4o-mini', input: [user, { role: 'assistant', content: 'The quick brown fox' }], stream: true });
    expect(raw.prefill).toBe('emulated');
    expect(streamed(raw.text).text).toBe(' jumped over the lazy dog.');
  });

  it('a prefill with store: true or previous_response_id is a clear 400 naming the field (nothing reaches OpenAI)', async () => {
    const before = upstream.requests.length;
    for (const [field, value] of [['store', true], ['previous_response_id', 'resp_1']] as const) {
      const answer = await post(proxy, { model: 'gpt-4o-mini', input: [user, partial], [field]: value });
      expect(answer.status).toBe(400);
      const body = whole(answer.text) as { error: { param: string; message: string } };
      expect(body.error.param).toBe(field);
      expect(body.error.message).toContain('prefill');
    }
    expect(upstream.requests.length).toBe(before);
  });
});

describe('fuzzing the Responses door', () => {
  const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 6 }));
  const usually = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: scalar, weight: 1 });
  const optional = <T>(valid: fc.Arbitrary<T>) => fc.option(usually(valid), { nil: undefined });
  const part = usually(fc.record({ type: usually(fc.constantFrom('input_text', 'output_text', 'refusal', 'input_image', 'input_file')), text: fc.string({ maxLength: 6 }), refusal: fc.string({ maxLength: 4 }), image_url: fc.constant('https://example.com/a.png') }, { requiredKeys: ['type'] }));
  const item = usually(
    fc.oneof(
      fc.record({ type: fc.constant('message'), role: usually(fc.constantFrom('user', 'assistant', 'system', 'developer')), content: usually(fc.oneof(fc.string({ maxLength: 10 }), fc.array(part, { maxLength: 3 }))), status: optional(fc.constantFrom('in_progress', 'completed', 'incomplete')) }, { requiredKeys: ['role', 'content'] }),
      fc.record({ type: fc.constant('function_call'), call_id: usually(fc.constantFrom('c1', 'c2')), name: usually(fc.constant('f')), arguments: usually(fc.constant('{}')) }),
      fc.record({ type: fc.constant('function_call_output'), call_id: usually(fc.constant('c1')), output: usually(fc.oneof(fc.string({ maxLength: 5 }), fc.array(part, { maxLength: 2 }))) }),
      fc.record({ type: fc.constant('reasoning'), summary: usually(fc.array(fc.record({ type: fc.constant('summary_text'), text: fc.string({ maxLength: 6 }) }), { maxLength: 2 })), status: optional(fc.constantFrom('in_progress', 'completed')) }),
      fc.record({ type: fc.constantFrom('item_reference', 'web_search_call'), id: fc.constant('x') }),
    ),
  );
  const nearValid = fc.record(
    {
      model: optional(fc.constantFrom('mock-1', 'mock-thinker')),
      input: usually(fc.oneof(fc.string({ maxLength: 10 }), fc.array(item, { minLength: 1, maxLength: 4 }))),
      instructions: optional(fc.string({ maxLength: 8 })),
      stream: optional(fc.boolean()),
      echo: optional(fc.boolean()),
      max_output_tokens: optional(fc.integer({ min: 1, max: 30 })),
      reasoning_budget_tokens: optional(fc.integer({ min: 0, max: 20 })),
      store: optional(fc.boolean()),
      include: optional(fc.constantFrom([], ['reasoning.encrypted_content'])),
      tools: optional(fc.array(fc.oneof(fc.record({ type: fc.constant('function'), name: fc.constant('f'), parameters: fc.constant({ type: 'object' }) }), fc.record({ type: fc.constant('web_search') })), { maxLength: 2 })),
      tool_choice: optional(fc.constantFrom('auto', 'none', 'required', { type: 'function', name: 'f' }, { type: 'file_search' })),
      text: optional(fc.constantFrom({ format: { type: 'text' } }, { format: { type: 'json_object' } }, { format: { type: 'json_schema', name: 'o', schema: {} } }, { format: { type: 'json_schema' } })),
      reasoning: optional(fc.record({ effort: usually(fc.constantFrom('low', 'high')), summary: usually(fc.constantFrom('auto', 'detailed')) })),
    },
    { requiredKeys: ['input'] },
  );
  const bodies = fc.oneof({ arbitrary: nearValid.map((value) => JSON.stringify(value)), weight: 8 }, { arbitrary: fc.json({ maxDepth: 3 }), weight: 1 });
  const modes = fc.constantFrom(undefined, 'auto', 'explicit', 'off');

  it('never a 5xx; refusals in OpenAI\'s error shape; answers and every event valid against the schema', async () => {
    const app = buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
    try {
      await fc.assert(
        fc.asyncProperty(bodies, modes, async (payload, mode) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (mode) headers['x-prefill-mode'] = mode;
          const response = await app.inject({ method: 'POST', url: '/v1/responses', payload, headers });
          expect(response.statusCode, response.body).toBeLessThan(500);
          expect(response.headers['x-prefill']).toBeDefined();
          if (response.statusCode >= 400) {
            expect(validateErrorResponse(JSON.parse(response.body)).errors, response.body).toEqual([]);
          } else if (String(response.headers['content-type']).includes('text/event-stream')) {
            expect(['response.completed', 'response.incomplete']).toContain(events(response.body).at(-1)!.type);
          } else {
            whole(response.body);
          }
        }),
        { numRuns: 300, seed: 15 },
      );
    } finally {
      await app.close();
    }
  });
});
