import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import {
  BEDROCK_ANSWER,
  BEDROCK_CONTINUATION,
  BEDROCK_INVALID_MODEL,
  BEDROCK_REASONING,
  BEDROCK_SIGNATURE_MISMATCH,
  BEDROCK_TOOL_INPUT,
  BEDROCK_TOOL_PREAMBLE,
  BEDROCK_TOOL_USE_ID,
  startBedrockMock,
  type BedrockMock,
  type BedrockMockOptions,
} from '../mocks/bedrock.js';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

/**
 * The proxy in front of the Bedrock Converse mock (which checks SigV4 signatures as AWS does and frames
 * streams as AWS event-stream; proven with the official @aws-sdk/client-bedrock-runtime), driven with the
 * official openai SDK. Requests go through the proxy's own client for Bedrock (undici, HTTP/1.1, each
 * request signed by SigV4Upstream).
 */

const CLAUDE_35 = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const LLAMA = 'meta.llama3-70b-instruct-v1:0';
const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0';
const KEYS = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test-secret' };
const PREFIX = 'The quick brown fox ';
const messages = [
  { role: 'system' as const, content: 'You finish sentences.' },
  { role: 'user' as const, content: 'Finish the sentence.' },
  { role: 'assistant' as const, content: PREFIX },
];
/** The prefix went without its trailing space, so the model's leading space is the one the client gets back. */
const CONTINUATION = BEDROCK_CONTINUATION.trimStart();

/** The proxy with this environment, as users run it (app.ts's clientFor signs Bedrock requests). */
async function startBedrockProxy(env: Record<string, string>): Promise<RunningProxy> {
  return startProxy({ UPSTREAM_RETRY_BASE_MS: '1', RESUME_ATTEMPTS: '0', ...env });
}

function inFrontOfBedrock(options: BedrockMockOptions = {}, env: Record<string, string> = {}) {
  const handle = {} as { mock: BedrockMock; proxy: RunningProxy };
  beforeAll(async () => {
    handle.mock = await startBedrockMock(options);
    handle.proxy = await startBedrockProxy({ UPSTREAM_URL: handle.mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS, ...env });
  });
  afterAll(async () => {
    await handle.proxy.close();
    await handle.mock.close();
  });
  return handle;
}

type Blocks = Array<{ role: string; content: Array<Record<string, unknown>> }>;
const sentMessages = (mock: BedrockMock, at = -1) => mock.requests.at(at)!.json!.messages as Blocks;

describe('Bedrock Converse: prefill', () => {
  const h = inFrontOfBedrock();

  it('continues a prefill with the continuation only (Claude: sent without its trailing space, not doubled), signed as sent', async () => {
    const { data, response } = await h.proxy.client.chat.completions.create({ model: CLAUDE_35, messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(CONTINUATION);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe(CLAUDE_35);
    expect(data.usage).toMatchObject({ completion_tokens: 8, total_tokens: expect.any(Number) });
    const sent = h.mock.requests.at(-1)!;
    expect(sent).toMatchObject({ url: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse', modelId: CLAUDE_35, auth: 'sigv4', status: 200, httpVersion: '1.1' });
    expect(sent.authError).toBeUndefined();
    expect(sent.json).toEqual({
      system: [{ text: 'You finish sentences.' }],
      messages: [
        { role: 'user', content: [{ text: 'Finish the sentence.' }] },
        { role: 'assistant', content: [{ text: 'The quick brown fox' }] },
      ],
    });
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, /);
  });

  it('streamed: the same continuation from the AWS event stream, finish reason, usage in its own chunk, [DONE]', async () => {
    const stream = await streamed(h.proxy.client, { model: CLAUDE_35, messages, stream_options: { include_usage: true } });
    expect(stream.content).toBe(CONTINUATION);
    expect(stream.finishReason).toBe('stop');
    expect(stream.chunks[0]!.choices[0]!.delta).toMatchObject({ role: 'assistant' });
    expect(stream.chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 8 } });
    expect(h.mock.requests.at(-1)).toMatchObject({ url: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream', auth: 'sigv4', status: 200 });
  });

  it('echo: prefix + continuation, streamed and not', async () => {
    expect((await complete(h.proxy.client, { model: CLAUDE_35, messages, echo: true })).choices[0]!.message.content).toBe(`${PREFIX}${CONTINUATION}`);
    expect((await streamed(h.proxy.client, { model: CLAUDE_35, messages, echo: true })).content).toBe(`${PREFIX}${CONTINUATION}`);
  });

  it('Llama keeps the prefix as written; `prefix: true` and mode explicit', async () => {
    const llama = [messages[1]!, { role: 'assistant', content: 'Once upon a time' }];
    expect((await complete(h.proxy.client, { model: LLAMA, messages: llama })).choices[0]!.message.content).toBe(BEDROCK_CONTINUATION);
    expect(sentMessages(h.mock).at(-1)).toEqual({ role: 'assistant', content: [{ text: 'Once upon a time' }] });
    const flagged = [messages[1]!, { role: 'assistant', content: 'Once upon a time', prefix: true }];
    const explicit = await h.proxy.client.chat.completions.create({ model: LLAMA, messages: flagged as never }, { headers: { 'x-prefill-mode': 'explicit' } });
    expect(explicit.choices[0]!.message.content).toBe(BEDROCK_CONTINUATION);
    // A bare trailing assistant message in mode explicit is a finished turn, which Bedrock cannot follow with a new one.
    const refused = await h.proxy.client.chat.completions.create({ model: LLAMA, messages: llama as never }, { headers: { 'x-prefill-mode': 'explicit' } }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ status: 400, code: 'prefill_mode_unsupported' });
  });

  it('model IDs with colons and inference-profile ARNs are encoded once in the path and signed as sent', async () => {
    const data = await complete(h.proxy.client, { model: PROFILE_ARN, messages });
    expect(data.choices[0]!.message.content).toBe(CONTINUATION);
    const sent = h.mock.requests.at(-1)!;
    expect(sent.url).toBe('/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(sent).toMatchObject({ modelId: PROFILE_ARN, auth: 'sigv4', status: 200 });
    expect((await streamed(h.proxy.client, { model: PROFILE_ARN, messages })).content).toBe(CONTINUATION);
    expect(h.mock.requests.at(-1)).toMatchObject({ modelId: PROFILE_ARN, operation: 'converse-stream', status: 200 });
  });

  it('Claude 4.6 and later (by any of their names) take the fallback: emulated, the conversation ending with a user message', async () => {
    for (const model of ['anthropic.claude-sonnet-4-6', 'us.anthropic.claude-opus-4-6-v1']) {
      const before = h.mock.requests.length;
      const { data, response } = await h.proxy.client.chat.completions.create({ model, messages }).withResponse();
      expect(response.headers.get('x-prefill')).toBe('emulated');
      expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
      expect(h.mock.requests.length).toBe(before + 1);
      expect(sentMessages(h.mock).at(-1)!.role).toBe('user');
    }
    const stream = await h.proxy.client.chat.completions.create({ model: 'global.anthropic.claude-opus-4-7', messages, stream: true }).withResponse();
    expect(stream.response.headers.get('x-prefill')).toBe('emulated');
    expect((await collect(stream.data)).content.length).toBeGreaterThan(0);
  });

  it('an ordinary request: the whole answer; tools → tool_calls; Claude thinking → reasoning_content', async () => {
    const plain = await h.proxy.client.chat.completions.create({ model: CLAUDE_35, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    expect(plain.choices[0]!.message.content).toBe(BEDROCK_ANSWER);
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }];
    const weather = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
    const called = await h.proxy.client.chat.completions.create({ model: CLAUDE_35, messages: weather, tools });
    expect(called.choices[0]!.finish_reason).toBe('tool_calls');
    expect(called.choices[0]!.message.content).toBe(BEDROCK_TOOL_PREAMBLE);
    expect(called.choices[0]!.message.tool_calls![0]).toMatchObject({ id: BEDROCK_TOOL_USE_ID, function: { name: 'get_weather', arguments: JSON.stringify(BEDROCK_TOOL_INPUT) } });
    const streamedCall = await collect(await h.proxy.client.chat.completions.create({ model: CLAUDE_35, messages: weather, tools, stream: true }));
    const args = streamedCall.chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []).map((call) => call.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual(BEDROCK_TOOL_INPUT);
    expect(streamedCall.finishReason).toBe('tool_calls');
    // The tool's answer goes back as a toolResult in a user turn.
    const answered = await h.proxy.client.chat.completions.create({
      model: CLAUDE_35,
      tools,
      messages: [...weather, called.choices[0]!.message, { role: 'tool', tool_call_id: BEDROCK_TOOL_USE_ID, content: '{"sky":"clear"}' }] as never,
    });
    expect(answered.choices[0]!.message.content).toBe('It is sunny in Paris today.');
    const thinking = await complete(h.proxy.client, { model: CLAUDE_35, messages: [{ role: 'user', content: 'Be brief.' }], reasoning_effort: 'low', max_tokens: 4096 } as never);
    expect((thinking.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(BEDROCK_REASONING);
    expect(h.mock.requests.at(-1)!.json!.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } });
  });

  it("Bedrock's errors keep their status and message: ValidationException 400", async () => {
    const error = await h.proxy.client.chat.completions.create({ model: 'anthropic.claude-nope-v1:0', messages }).catch((err: unknown) => err);
    // The code is the exception's name from x-amzn-errortype (the body has only a message), as the AWS SDKs raise it.
    expect(error).toMatchObject({ status: 400, code: 'ValidationException', message: expect.stringContaining(BEDROCK_INVALID_MODEL) });
    const whitespace = await h.proxy.client.chat.completions
      .create({ model: CLAUDE_35, messages }, { headers: { 'x-prefill-mode': 'off' } })
      .catch((err: unknown) => err);
    // Mode off still translates the request; Claude then sees the untrimmed text.
    expect(whitespace).toMatchObject({ status: 400, message: expect.stringContaining('final assistant content cannot end with trailing whitespace') });
  });

  it('other paths go through signed too (passthrough)', async () => {
    const response = await fetch(`${h.proxy.url}/model/${encodeURIComponent(CLAUDE_35)}/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    // Authenticated by the mock (a bad signature would be a 403), then unknown to it.
    expect(response.status).toBe(404);
    expect(h.mock.requests.at(-1)).toMatchObject({ auth: 'sigv4', url: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke' });
    expect(h.mock.requests.at(-1)!.authError).toBeUndefined();
  });
});

describe('Bedrock Converse through the other front doors', () => {
  const h = inFrontOfBedrock();
  const conversation = [
    { role: 'user' as const, content: 'Finish the sentence.' },
    { role: 'assistant' as const, content: PREFIX },
  ];

  it('Anthropic Messages (official SDK): the prefill continued, whole and streamed', async () => {
    const anthropic = new Anthropic({ baseURL: h.proxy.url, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await anthropic.messages.create({ model: CLAUDE_35, max_tokens: 256, system: 'You finish sentences.', messages: conversation }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: CLAUDE_35, stop_reason: 'end_turn', content: [{ type: 'text', text: CONTINUATION }] });
    expect(h.mock.requests.at(-1)).toMatchObject({ operation: 'converse', auth: 'sigv4', status: 200 });
    expect(h.mock.requests.at(-1)!.json).toMatchObject({ system: [{ text: 'You finish sentences.' }], inferenceConfig: { maxTokens: 256 } });
    const stream = anthropic.messages.stream({ model: CLAUDE_35, max_tokens: 256, messages: conversation });
    expect(await stream.finalText()).toBe(CONTINUATION);
    expect((await stream.finalMessage()).stop_reason).toBe('end_turn');
    expect(h.mock.requests.at(-1)).toMatchObject({ operation: 'converse-stream', status: 200 });
    // A refusing model takes the fallback here too.
    const emulated = await anthropic.messages.create({ model: 'anthropic.claude-sonnet-4-6', max_tokens: 256, messages: conversation }).withResponse();
    expect(emulated.response.headers.get('x-prefill')).toBe('emulated');
  });

  it('OpenAI Responses (official SDK): the prefill continued, whole and streamed', async () => {
    const { data, response } = await h.proxy.client.responses.create({ model: CLAUDE_35, input: conversation }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe(CONTINUATION);
    const stream = await h.proxy.client.responses.create({ model: CLAUDE_35, input: conversation, stream: true });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = true;
    }
    expect(text).toBe(CONTINUATION);
    expect(completed).toBe(true);
    expect(h.mock.requests.at(-1)).toMatchObject({ operation: 'converse-stream', status: 200 });
  });
});

describe('Bedrock Converse: a model the proxy does not know to refuse prefill', () => {
  const h = inFrontOfBedrock({ models: ['anthropic.claude-nova-1'], noPrefillModels: /^anthropic\.claude-nova/ });

  it("falls back after Bedrock's 400 (\"does not support assistant message prefill\")", async () => {
    const { data, response } = await h.proxy.client.chat.completions.create({ model: 'anthropic.claude-nova-1', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(h.mock.requests.map((request) => [request.status, (request.json!.messages as Blocks).at(-1)!.role])).toEqual([
      [400, 'assistant'],
      [200, 'user'],
    ]);
    const stream = await h.proxy.client.chat.completions.create({ model: 'anthropic.claude-nova-1', messages, stream: true }).withResponse();
    expect(stream.response.headers.get('x-prefill')).toBe('emulated');
    expect((await collect(stream.data)).content.length).toBeGreaterThan(0);
  });
});

describe('Bedrock Converse: errors', () => {
  it('ThrottlingException: retried (signed anew each time), then 429 with its message; once only, the retry answers', async () => {
    const mock = await startBedrockMock({ failWith: { status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' } });
    const proxy = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS });
    const error = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 429, code: 'ThrottlingException', message: expect.stringContaining('Too many requests') });
    expect(mock.requests.map((request) => [request.status, request.auth, request.authError])).toEqual([
      [429, 'sigv4', undefined],
      [429, 'sigv4', undefined],
      [429, 'sigv4', undefined],
    ]);
    await proxy.close();
    await mock.close();

    const once = await startBedrockMock({ failWith: { status: 429, errorType: 'ThrottlingException', message: 'Too many requests', times: 1 } });
    const retrying = await startBedrockProxy({ UPSTREAM_URL: once.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS });
    expect((await streamed(retrying.client, { model: CLAUDE_35, messages })).content).toBe(CONTINUATION);
    expect(once.requests.map((request) => request.status)).toEqual([429, 200]);
    await retrying.close();
    await once.close();
  });

  it('ModelNotReadyException (429) and ServiceUnavailableException (503) keep their status; other statuses too', async () => {
    for (const [status, errorType] of [
      [429, 'ModelNotReadyException'],
      [503, 'ServiceUnavailableException'],
      [424, 'ModelErrorException'],
    ] as const) {
      const mock = await startBedrockMock({ failWith: { status, errorType, message: `${errorType} happened` } });
      const proxy = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', UPSTREAM_RETRIES: '0', ...KEYS });
      const error = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages: [messages[1]!] }).catch((err: unknown) => err);
      expect(error).toMatchObject({ status, message: expect.stringContaining(`${errorType} happened`) });
      await proxy.close();
      await mock.close();
    }
  });

  it('wrong credentials: the 403 is relayed with its message, and no secret in it', async () => {
    const mock = await startBedrockMock({ credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret', sessionToken: 'session-token-abcdef' } });
    const proxy = await startBedrockProxy({
      UPSTREAM_URL: mock.url,
      UPSTREAM_PROVIDER: 'bedrock',
      ...KEYS,
      AWS_SECRET_ACCESS_KEY: 'wrong-secret',
      AWS_SESSION_TOKEN: 'session-token-abcdef',
    });
    const error = (await proxy.client.chat.completions.create({ model: CLAUDE_35, messages }).catch((err: unknown) => err)) as { status: number; message: string; type: string };
    expect(error).toMatchObject({ status: 403, type: 'authentication_error' });
    expect(error.message).toContain(BEDROCK_SIGNATURE_MISMATCH);
    // AWS's 403 shows the canonical request, session token included: it never reaches the client.
    expect(mock.requests.at(-1)!.authError!.canonicalRequest).toContain('session-token-abcdef');
    expect(error.message).not.toContain('session-token-abcdef');
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain('wrong-secret');
    await proxy.close();

    const unknownKey = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS, AWS_ACCESS_KEY_ID: 'AKIDOTHER' });
    const unrecognized = await unknownKey.client.chat.completions.create({ model: CLAUDE_35, messages }).catch((err: unknown) => err);
    expect(unrecognized).toMatchObject({ status: 403, message: expect.stringContaining('The security token included in the request is invalid.') });
    await unknownKey.close();
    await mock.close();
  });

  it('a Bedrock API key goes as a bearer token, unsigned', async () => {
    const mock = await startBedrockMock({ apiKey: 'bedrock-api-key-0123456789' });
    const proxy = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', UPSTREAM_API_KEY: 'bedrock-api-key-0123456789' });
    expect((await complete(proxy.client, { model: CLAUDE_35, messages })).choices[0]!.message.content).toBe(CONTINUATION);
    expect(mock.requests.at(-1)).toMatchObject({ auth: 'bearer', status: 200 });
    await proxy.close();
    await mock.close();
  });
});

describe('Bedrock Converse: failures mid-stream', () => {
  it('an exception frame ends the stream with an error event (no [DONE])', async () => {
    const mock = await startBedrockMock({ streamException: { afterEvents: 3, type: 'modelStreamErrorException', message: 'Model stream error', originalStatusCode: 500, originalMessage: 'overloaded' } });
    const proxy = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS });
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: CLAUDE_35, messages, stream: true }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).not.toContain('[DONE]');
    const last = JSON.parse(text.trim().split('\n\n').at(-1)!.replace(/^data: /, ''));
    expect(last).toEqual({ error: { message: 'Model stream error (overloaded)', type: 'upstream_error', param: null, code: 'ModelStreamErrorException' } });
    // The SDK raises it.
    const stream = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages, stream: true });
    await expect(collect(stream)).rejects.toThrow(/Model stream error/);
    await proxy.close();
    await mock.close();
  });

  it('a connection cut mid-stream is an error event, never a clean end', async () => {
    const mock = await startBedrockMock({ dropAfterEvents: 4 });
    const proxy = await startBedrockProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS });
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: CLAUDE_35, messages, stream: true }),
    });
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    expect(text).toMatch(/"code":"upstream_(connection_lost|stream_truncated)"/);
    await proxy.close();
    await mock.close();
  });
});

describe('Bedrock Converse: the real client path (app.ts clientFor)', () => {
  const h = {} as { mock: BedrockMock; proxy: RunningProxy };
  beforeAll(async () => {
    h.mock = await startBedrockMock();
    const config = loadConfig({ LOG_LEVEL: 'silent', UPSTREAM_URL: h.mock.url, UPSTREAM_PROVIDER: 'bedrock', ...KEYS });
    const app = buildApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    h.proxy = { url, app, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }), close: () => app.close() };
  });
  afterAll(async () => {
    await h.proxy.close();
    await h.mock.close();
  });

  it('signs with the configured credentials (whole answers)', async () => {
    expect((await complete(h.proxy.client, { model: CLAUDE_35, messages })).choices[0]!.message.content).toBe(CONTINUATION);
    expect(h.mock.requests.at(-1)).toMatchObject({ auth: 'sigv4', status: 200 });
  });

  it('streams: the pipeline takes the decoder\'s own stream content type (AWS event-stream)', async () => {
    expect((await streamed(h.proxy.client, { model: CLAUDE_35, messages })).content).toBe(CONTINUATION);
  });
});
