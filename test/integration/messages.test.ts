/**
 * The Messages door (`POST /v1/messages`) in front of the built-in mock, driven by the official
 * Anthropic SDK (`messages.create`, `messages.stream`, `messages.countTokens`): prefill, echo, the
 * modes, reasoning prefill and the thinking budget, and every error in Anthropic's shape, including
 * those raised before the route runs. Answers are checked against the SDK's types
 * (test/fixtures/anthropic/sdk-shapes.ts).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_ANSWER, MOCK_CONTINUATION, MOCK_REPLY, MOCK_THOUGHT_END } from '../../src/providers/mock/model.js';
import { checkMessage, checkStream, parseNamedEvents } from '../fixtures/anthropic/sdk-shapes.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const sdk = (url: string, options: { apiKey?: string | null; authToken?: string } = {}) =>
  new Anthropic({ baseURL: url, apiKey: options.apiKey === undefined ? 'unused' : options.apiKey, authToken: options.authToken, maxRetries: 0, timeout: 15_000 });

type Params = Anthropic.MessageCreateParamsNonStreaming;
/** The proxy's own body field, which the SDK sends as it is. */
const withEcho = (params: Params) => ({ ...params, echo: true }) as Params;

const story: Anthropic.MessageParam[] = [
  { role: 'user', content: 'Tell me a story.' },
  { role: 'assistant', content: 'Once upon a time' },
];
const base = { model: 'mock-1', max_tokens: 256 };

/** The text of a Message's text blocks. */
const textOf = (message: Anthropic.Message) => message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
const thinkingOf = (message: Anthropic.Message) => message.content.flatMap((block) => (block.type === 'thinking' ? [block.thinking] : [])).join('');

/** A raw POST, for what the SDK would not send (bad JSON, another content type). */
async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Streams with messages.stream(): the final Message, the text as the `text` events gave it, and the raw events. */
async function streamed(client: Anthropic, params: Params) {
  const stream = client.messages.stream(params as Anthropic.MessageStreamParams);
  let text = '';
  let thinking = '';
  stream.on('text', (delta) => (text += delta));
  stream.on('thinking', (delta) => (thinking += delta));
  const events: string[] = [];
  for await (const event of stream) events.push(event.type);
  const final = await stream.finalMessage();
  return { final, text, thinking, events };
}

describe('the Messages door in front of the built-in mock', () => {
  let proxy: RunningProxy;
  let client: Anthropic;
  beforeAll(async () => {
    proxy = await startProxy();
    client = sdk(proxy.url);
  });
  afterAll(() => proxy.close());

  it('a final assistant turn is continued: the text block holds the continuation only, x-prefill native', async () => {
    const { data, response } = await client.messages.create({ ...base, messages: story }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.content).toEqual([{ type: 'text', text: MOCK_CONTINUATION, citations: null }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(data.id).toMatch(/^msg_/);
    expect(data.usage.output_tokens).toBe(11);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(checkMessage(data)).toEqual([]);
  });

  it('messages.stream: the same continuation, events in Anthropic\'s order, a final Message of the SDK\'s type', async () => {
    const { final, text, events } = await streamed(client, { ...base, messages: story });
    expect(text).toBe(MOCK_CONTINUATION);
    expect(textOf(final)).toBe(MOCK_CONTINUATION);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ output_tokens: 11, input_tokens: expect.any(Number) });
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(checkMessage(final)).toEqual([]);
    // The raw stream: named events only, ping after message_start, each checked against the SDK's types.
    const raw = await post(proxy.url, JSON.stringify({ ...base, messages: story, stream: true }));
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(raw.headers.get('x-prefill')).toBe('native');
    const parsed = parseNamedEvents(raw.text);
    expect(parsed[1]!.event).toBe('ping');
    expect(checkStream(parsed)).toEqual([]);
  });

  it('echo: true gives prefix + continuation, streamed and not', async () => {
    const whole = await client.messages.create(withEcho({ ...base, messages: story }));
    expect(textOf(whole)).toBe(`Once upon a time${MOCK_CONTINUATION}`);
    const { final, text } = await streamed(client, withEcho({ ...base, messages: story }));
    expect(text).toBe(`Once upon a time${MOCK_CONTINUATION}`);
    expect(textOf(final)).toBe(`Once upon a time${MOCK_CONTINUATION}`);
  });

  it('a conversation ending with a user turn is not a prefill (x-prefill none)', async () => {
    const { data, response } = await client.messages.create({ ...base, messages: [story[0]!] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(textOf(data)).toBe(MOCK_REPLY);
    expect(checkMessage(data)).toEqual([]);
  });

  it('modes: explicit still continues a final assistant turn (it always means "continue" here); off forwards it untouched', async () => {
    const explicit = await client.messages.create({ ...base, messages: story }, { headers: { 'x-prefill-mode': 'explicit' } }).withResponse();
    expect(explicit.response.headers.get('x-prefill')).toBe('native');
    expect(textOf(explicit.data)).toBe(MOCK_CONTINUATION);
    const off = await client.messages.create({ ...base, messages: story }, { headers: { 'x-prefill-mode': 'off' } }).withResponse();
    expect(off.response.headers.get('x-prefill')).toBe('none');
    // The mock continues only a message marked as a prefill: unmarked, it answers anew.
    expect(textOf(off.data)).toBe(MOCK_REPLY);
  });

  it('content blocks: a final turn of several text blocks is one prefix; system blocks and cache_control are read', async () => {
    const data = await client.messages.create({
      ...base,
      system: [{ type: 'text', text: 'You tell stories.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Tell me a story.', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] },
      ],
    });
    expect(textOf(data)).toBe(MOCK_CONTINUATION);
  });

  it('max_tokens bounds the answer: stop_reason max_tokens', async () => {
    const data = await client.messages.create({ ...base, max_tokens: 3, messages: story });
    expect(textOf(data)).toBe(' there was a');
    expect(data.stop_reason).toBe('max_tokens');
    const { final } = await streamed(client, { ...base, max_tokens: 3, messages: story });
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage.output_tokens).toBe(3);
  });

  it('thinking: {type: enabled, budget_tokens} is the proxy\'s thinking budget: thinking blocks, then the answer', async () => {
    const params: Params = { model: 'mock-thinker', max_tokens: 200, thinking: { type: 'enabled', budget_tokens: 10 }, messages: [story[0]!] };
    const data = await client.messages.create(params);
    expect(data.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(thinkingOf(data)).toBe('The user wants a story. A story needs a');
    expect(textOf(data)).toBe(MOCK_ANSWER);
    expect(checkMessage(data)).toEqual([]);
    const { final, thinking, text } = await streamed(client, params);
    expect(thinking).toBe('The user wants a story. A story needs a');
    expect(text).toBe(MOCK_ANSWER);
    expect(final.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(checkMessage(final)).toEqual([]);
    const raw = await post(proxy.url, JSON.stringify({ ...params, stream: true }));
    expect(checkStream(parseNamedEvents(raw.text))).toEqual([]);
  });

  it('a final assistant turn that starts with a thinking block is a reasoning prefill: the thinking goes on, then the answer', async () => {
    const prefix = 'The user wants a story about a fox,';
    const params: Params = {
      model: 'mock-thinker',
      max_tokens: 200,
      messages: [story[0]!, { role: 'assistant', content: [{ type: 'thinking', thinking: prefix, signature: '' }] }],
    };
    const { data, response } = await client.messages.create(params).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(thinkingOf(data)).toBe(MOCK_THOUGHT_END);
    expect(textOf(data)).toBe(MOCK_ANSWER);
    const { thinking, text } = await streamed(client, params);
    expect(thinking).toBe(MOCK_THOUGHT_END);
    expect(text).toBe(MOCK_ANSWER);
    expect(thinkingOf(await client.messages.create(withEcho(params)))).toBe(prefix + MOCK_THOUGHT_END);
  });

  it('messages.countTokens: an estimate, marked x-token-count: estimate', async () => {
    const { data, response } = await client.messages.countTokens({ model: 'mock-1', messages: story, system: 'You tell stories.' }).withResponse();
    expect(response.headers.get('x-token-count')).toBe('estimate');
    expect(data.input_tokens).toBeGreaterThan(5);
    const longer = await client.messages.countTokens({ model: 'mock-1', messages: [...story, { role: 'user', content: 'x'.repeat(400) }] });
    expect(longer.input_tokens).toBeGreaterThan(data.input_tokens + 90);
  });

  it('anthropic-version is accepted, not required', async () => {
    const without = await post(proxy.url, JSON.stringify({ ...base, messages: story }));
    expect(without.status).toBe(200);
    const withVersion = await post(proxy.url, JSON.stringify({ ...base, messages: story }), { 'anthropic-version': '2023-06-01' });
    expect(JSON.parse(withVersion.text).content[0].text).toBe(MOCK_CONTINUATION);
  });
});

describe('errors on the Messages door are in Anthropic\'s shape', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy({ PROXY_API_KEYS: 'sk-proxy-key', BODY_LIMIT_BYTES: '4096' });
  });
  afterAll(() => proxy.close());

  const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as InstanceType<typeof Anthropic.APIError>);
  const shape = (type: string, message: unknown = expect.any(String)) => ({ type: 'error', error: { type, message } });

  it('keys: x-api-key and Authorization: Bearer both work; a missing or wrong key is a 401 authentication_error', async () => {
    expect(textOf(await sdk(proxy.url, { apiKey: 'sk-proxy-key' }).messages.create({ ...base, messages: story }))).toBe(MOCK_CONTINUATION);
    expect(textOf(await sdk(proxy.url, { apiKey: null, authToken: 'sk-proxy-key' }).messages.create({ ...base, messages: story }))).toBe(MOCK_CONTINUATION);
    const wrong = await errorOf(sdk(proxy.url, { apiKey: 'sk-wrong' }).messages.create({ ...base, messages: story }));
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(wrong!.status).toBe(401);
    expect(wrong!.error).toEqual(shape('authentication_error'));
    const missing = await post(proxy.url, JSON.stringify({ ...base, messages: story }));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('x-prefill')).toBe('none');
    expect(JSON.parse(missing.text)).toEqual(shape('authentication_error', expect.stringContaining('Missing API key')));
    const count = await fetch(`${proxy.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(count.status).toBe(401);
    expect(await count.json()).toEqual(shape('authentication_error'));
  });

  const key = { 'x-api-key': 'sk-proxy-key' };

  it('raised before the route: invalid JSON 400, another content type 415, a body too large 413', async () => {
    const invalid = await post(proxy.url, '{"model": ', key);
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text)).toEqual(shape('invalid_request_error', expect.stringContaining('not valid JSON')));
    const typed = await post(proxy.url, 'hello', { ...key, 'content-type': 'text/plain' });
    expect(typed.status).toBe(415);
    expect(JSON.parse(typed.text)).toEqual(shape('invalid_request_error'));
    const large = await post(proxy.url, JSON.stringify({ ...base, messages: [{ role: 'user', content: 'x'.repeat(8000) }] }), key);
    expect(large.status).toBe(413);
    expect(JSON.parse(large.text)).toEqual(shape('request_too_large'));
    expect(large.headers.get('x-prefill')).toBe('none');
  });

  it('validation: max_tokens is required, a field is named as Anthropic names it', async () => {
    const client = sdk(proxy.url, { apiKey: 'sk-proxy-key' });
    const missing = await errorOf(client.messages.create({ model: 'mock-1', messages: story } as unknown as Params));
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect(missing!.error).toEqual(shape('invalid_request_error', 'max_tokens: Field required'));
    const role = await errorOf(client.messages.create({ ...base, messages: [{ role: 'system', content: 'x' }] } as unknown as Params));
    expect((role!.error as { error: { message: string } }).error.message).toMatch(/^messages\.0\.role: /);
    const mode = await errorOf(client.messages.create({ ...base, messages: story }, { headers: { 'x-prefill-mode': 'sometimes' } }));
    expect(mode!.status).toBe(400);
    expect(mode!.error).toEqual(shape('invalid_request_error', expect.stringContaining('sometimes')));
  });

  it('what the request model cannot carry to this upstream is a 400 naming it (a document); server tools are not offered', async () => {
    const client = sdk(proxy.url, { apiKey: 'sk-proxy-key' });
    const document = await errorOf(
      client.messages.create({
        ...base,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise.' }, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'A fox.' } }] }],
      }),
    );
    expect(document!.status).toBe(400);
    expect(document!.error).toEqual(shape('invalid_request_error', expect.stringMatching(/^messages\.0\.content\.1: a "document" block cannot be sent to this upstream \(mock\)/)));
    // Only Anthropic runs its server tools: another upstream is not offered them, and answers as usual.
    const tools = await client.messages.create({ ...base, messages: story, tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
    expect(textOf(tools)).toBe(MOCK_CONTINUATION);
  });
});
