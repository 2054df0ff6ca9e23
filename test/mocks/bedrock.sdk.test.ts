/**
 * Proves the Bedrock mock with the official AWS SDK (@aws-sdk/client-bedrock-runtime): what the SDK sends
 * (HTTP/2, SigV4 over the doubly encoded path) passes, what it parses (JSON answers, event-stream frames,
 * typed exceptions) comes out as documented, and a request changed after signing fails as on AWS.
 */
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  ModelStreamErrorException,
  ThrottlingException,
  ValidationException,
  type BedrockRuntimeClientConfig,
  type ConverseStreamOutput,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BEDROCK_ANSWER,
  BEDROCK_CONTINUATION,
  BEDROCK_INVALID_MODEL,
  BEDROCK_PREFILL_REFUSAL,
  BEDROCK_REASONING,
  BEDROCK_REASONING_SIGNATURE,
  BEDROCK_SIGNATURE_MISMATCH,
  BEDROCK_TOOL_INPUT,
  BEDROCK_TOOL_USE_ID,
  BEDROCK_TRAILING_WHITESPACE,
  bedrockPath,
  decodeBedrockEvents,
  startBedrockMock,
  type BedrockMock,
  type BedrockMockOptions,
} from './bedrock.js';

const CLAUDE_35 = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const user = (text: string): Message => ({ role: 'user', content: [{ text }] });
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ text }] });

type Middleware = Parameters<BedrockRuntimeClient['middlewareStack']['addRelativeTo']>[0];
type Step = (args: { request: unknown }) => Promise<unknown>;
/** A middleware that edits the already signed HTTP request. */
const afterSigning = (edit: (request: { body: string | Uint8Array; headers: Record<string, string> }) => void): Middleware =>
  ((next: Step) => async (args: { request: unknown }) => {
    edit(args.request as { body: string | Uint8Array; headers: Record<string, string> });
    return next(args);
  }) as unknown as Middleware;

function clientFor(mock: BedrockMock, config: Partial<BedrockRuntimeClientConfig> = {}): BedrockRuntimeClient {
  return new BedrockRuntimeClient({ endpoint: mock.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1, ...config });
}

/** Runs `fn` against a fresh mock and client, always closing both. */
async function withMock<T>(options: BedrockMockOptions, fn: (mock: BedrockMock, client: BedrockRuntimeClient) => Promise<T>, config: Partial<BedrockRuntimeClientConfig> = {}): Promise<T> {
  const mock = await startBedrockMock(options);
  const client = clientFor(mock, config);
  try {
    return await fn(mock, client);
  } finally {
    client.destroy();
    await mock.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<BedrockRuntimeServiceException> {
  try {
    await promise;
  } catch (err) {
    return err as BedrockRuntimeServiceException;
  }
  throw new Error('expected the call to fail');
}

async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}

let mock: BedrockMock;
let client: BedrockRuntimeClient;
beforeAll(async () => {
  mock = await startBedrockMock();
  client = clientFor(mock);
});
afterAll(async () => {
  client.destroy();
  await mock.close();
});

describe('Converse with the official SDK', () => {
  it('answers a plain conversation; the SDK speaks HTTP/2 and signs the doubly encoded path', async () => {
    const response = await client.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Tell me a story.')] }));
    expect(response.output?.message?.role).toBe('assistant');
    expect(response.output?.message?.content).toEqual([{ text: BEDROCK_ANSWER }]);
    expect(response.stopReason).toBe('end_turn');
    expect(response.usage).toEqual({ inputTokens: 4, outputTokens: 11, totalTokens: 15 });
    expect(response.metrics?.latencyMs).toBe(120);
    expect(response.$metadata.httpStatusCode).toBe(200);
    const recorded = mock.requests.at(-1)!;
    expect(recorded.httpVersion).toBe('2.0');
    expect(recorded.auth).toBe('sigv4');
    expect(recorded.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(recorded.url).toBe(bedrockPath(CLAUDE_35, 'converse'));
    expect(recorded.modelId).toBe(CLAUDE_35);
    expect(recorded.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=:authority;.*x-amz-date.*, Signature=[0-9a-f]{64}$/);
    expect(recorded.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(recorded.json).toEqual({ messages: [{ role: 'user', content: [{ text: 'Tell me a story.' }] }] });
  });

  it('takes a system prompt and inference parameters', async () => {
    const response = await client.send(
      new ConverseCommand({
        modelId: CLAUDE_35,
        system: [{ text: 'You are terse.' }],
        messages: [user('Tell me a story.')],
        inferenceConfig: { maxTokens: 200, temperature: 0.2, topP: 0.9 },
      }),
    );
    expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
    expect(mock.requests.at(-1)!.json).toMatchObject({ system: [{ text: 'You are terse.' }], inferenceConfig: { maxTokens: 200, temperature: 0.2, topP: 0.9 } });
    expect(response.usage?.inputTokens).toBe(7);
  });

  it.each([CLAUDE_35, `us.${CLAUDE_35}`, 'meta.llama3-70b-instruct-v1:0', 'mistral.mistral-large-2407-v1:0'])('continues a trailing assistant message on %s without repeating it', async (modelId) => {
    const response = await client.send(new ConverseCommand({ modelId, messages: [user('Write a sentence about a fox.'), assistant('The quick brown fox')] }));
    const text = response.output?.message?.content?.[0]?.text;
    expect(text).toBe(BEDROCK_CONTINUATION);
    expect(text).not.toContain('The quick brown fox');
    expect(response.stopReason).toBe('end_turn');
  });

  it('continues a prefix that ends in whitespace on Llama without a double space', async () => {
    const response = await client.send(new ConverseCommand({ modelId: 'meta.llama3-70b-instruct-v1:0', messages: [user('Go on.'), assistant('The quick brown fox ')] }));
    expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_CONTINUATION.trimStart());
  });

  it.each(['anthropic.claude-sonnet-4-6', 'anthropic.claude-opus-4-6-v1', 'us.anthropic.claude-opus-4-7', 'global.anthropic.claude-sonnet-4-6'])(
    'refuses prefill on %s with a typed ValidationException',
    async (modelId) => {
      const err = await rejection(client.send(new ConverseCommand({ modelId, messages: [user('Hi'), assistant('Hello')] })));
      expect(err).toBeInstanceOf(ValidationException);
      expect(err.name).toBe('ValidationException');
      expect(err.$fault).toBe('client');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toBe(BEDROCK_PREFILL_REFUSAL);
      expect(err.message).toContain('This model does not support assistant message prefill. The conversation must end with a user message.');
    },
  );

  it('answers Claude 4.6 when the conversation ends with a user message', async () => {
    const response = await client.send(new ConverseCommand({ modelId: 'us.anthropic.claude-sonnet-4-6', messages: [user('Hi')] }));
    expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
  });

  it('rejects a Claude prefill that ends in whitespace', async () => {
    const err = await rejection(client.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi'), assistant('Hello ')] })));
    expect(err).toBeInstanceOf(ValidationException);
    expect(err.message).toBe(BEDROCK_TRAILING_WHITESPACE);
  });

  it('caps the answer at maxTokens and cuts it at a stop sequence', async () => {
    const capped = await client.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Story?')], inferenceConfig: { maxTokens: 3 } }));
    expect(capped.output?.message?.content?.[0]?.text).toBe('The little fox');
    expect(capped.stopReason).toBe('max_tokens');
    expect(capped.usage?.outputTokens).toBe(3);
    const stopped = await client.send(
      new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Story?')], inferenceConfig: { stopSequences: [' home'] }, additionalModelResponseFieldPaths: ['/stop_sequence'] }),
    );
    expect(stopped.output?.message?.content?.[0]?.text).toBe('The little fox ran');
    expect(stopped.stopReason).toBe('stop_sequence');
    expect(stopped.additionalModelResponseFields).toEqual({ stop_sequence: ' home' });
  });

  it('starts with a reasoningContent block when Claude extended thinking is on', async () => {
    const response = await client.send(
      new ConverseCommand({
        modelId: 'anthropic.claude-3-7-sonnet-20250219-v1:0',
        messages: [user('Story?')],
        inferenceConfig: { maxTokens: 2048 },
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } },
      }),
    );
    expect(response.output?.message?.content).toEqual([
      { reasoningContent: { reasoningText: { text: BEDROCK_REASONING, signature: BEDROCK_REASONING_SIGNATURE } } },
      { text: BEDROCK_ANSWER },
    ]);
  });

  it('asks for a tool when the prompt is about the weather', async () => {
    const response = await client.send(
      new ConverseCommand({
        modelId: CLAUDE_35,
        messages: [user('What is the weather in Paris?')],
        toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: { type: 'object', properties: { location: { type: 'string' } } } } } }] },
      }),
    );
    expect(response.stopReason).toBe('tool_use');
    const toolUse = response.output?.message?.content?.find((block) => block.toolUse)?.toolUse;
    expect(toolUse).toEqual({ toolUseId: BEDROCK_TOOL_USE_ID, name: 'get_weather', input: BEDROCK_TOOL_INPUT });
  });

  it('takes a model ID with colons and an inference-profile ARN, URL-encoded as one path segment', async () => {
    const arn = `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.${CLAUDE_35}`;
    const response = await client.send(new ConverseCommand({ modelId: arn, messages: [user('Hi')] }));
    expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
    const recorded = mock.requests.at(-1)!;
    expect(recorded.url).toBe(`/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse`);
    expect(recorded.url).toBe(bedrockPath(arn, 'converse'));
    expect(recorded.modelId).toBe(arn);
  });

  it('rejects an unknown model and a conversation that starts with the assistant', async () => {
    const unknown = await rejection(client.send(new ConverseCommand({ modelId: 'anthropic.claude-opus-4-6-v1:0', messages: [user('Hi')] })));
    expect(unknown).toBeInstanceOf(ValidationException);
    expect(unknown.message).toBe(BEDROCK_INVALID_MODEL);
    const order = await rejection(client.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [assistant('Hi')] })));
    expect(order.message).toBe('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  });
});

describe('ConverseStream with the official SDK', () => {
  it('streams one text delta per word, then messageStop and metadata', async () => {
    const response = await client.send(new ConverseStreamCommand({ modelId: CLAUDE_35, messages: [user('Tell me a story.')] }));
    const events = await collect(response.stream);
    expect(events[0]).toEqual({ messageStart: { role: 'assistant' } });
    const deltas = events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta!.delta!.text);
    expect(deltas.length).toBe(BEDROCK_ANSWER.split(' ').length);
    expect(deltas.join('')).toBe(BEDROCK_ANSWER);
    expect(events.find((e) => e.contentBlockStop)?.contentBlockStop).toEqual({ contentBlockIndex: 0 });
    expect(events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('end_turn');
    const metadata = events.at(-1)?.metadata;
    expect(metadata?.usage).toEqual({ inputTokens: 4, outputTokens: 11, totalTokens: 15 });
    expect(metadata?.metrics?.latencyMs).toBe(120);
    expect(mock.requests.at(-1)!.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
  });

  it('streams only the continuation of a prefill', async () => {
    const response = await client.send(new ConverseStreamCommand({ modelId: `us.${CLAUDE_35}`, messages: [user('Fox?'), assistant('The quick brown fox')] }));
    const events = await collect(response.stream);
    expect(events.flatMap((e) => e.contentBlockDelta?.delta?.text ?? []).join('')).toBe(BEDROCK_CONTINUATION);
  });

  it('refuses a Claude 4.6 prefill before the stream starts', async () => {
    const err = await rejection(client.send(new ConverseStreamCommand({ modelId: 'anthropic.claude-sonnet-4-6', messages: [user('Hi'), assistant('Hello')] })));
    expect(err).toBeInstanceOf(ValidationException);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(BEDROCK_PREFILL_REFUSAL);
  });

  it('streams reasoning text, then its signature, then the answer', async () => {
    const response = await client.send(
      new ConverseStreamCommand({
        modelId: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
        messages: [user('Story?')],
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2000 } },
      }),
    );
    const events = await collect(response.stream);
    const reasoning = events.filter((e) => e.contentBlockDelta?.contentBlockIndex === 0).map((e) => e.contentBlockDelta!.delta!.reasoningContent!);
    expect(reasoning.flatMap((r) => r.text ?? []).join('')).toBe(BEDROCK_REASONING);
    expect(reasoning.at(-1)).toEqual({ signature: BEDROCK_REASONING_SIGNATURE });
    expect(events.filter((e) => e.contentBlockDelta?.contentBlockIndex === 1).map((e) => e.contentBlockDelta!.delta!.text).join('')).toBe(BEDROCK_ANSWER);
  });

  it('streams a tool call: contentBlockStart with the id and name, then input JSON in pieces', async () => {
    const response = await client.send(
      new ConverseStreamCommand({
        modelId: CLAUDE_35,
        messages: [user('Weather in Paris?')],
        toolConfig: { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }] },
      }),
    );
    const events = await collect(response.stream);
    const start = events.find((e) => e.contentBlockStart)?.contentBlockStart;
    expect(start).toEqual({ contentBlockIndex: 1, start: { toolUse: { toolUseId: BEDROCK_TOOL_USE_ID, name: 'get_weather' } } });
    const input = events.filter((e) => e.contentBlockDelta?.delta?.toolUse).map((e) => e.contentBlockDelta!.delta!.toolUse!.input);
    expect(input.length).toBeGreaterThan(1);
    expect(JSON.parse(input.join(''))).toEqual(BEDROCK_TOOL_INPUT);
    expect(events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('tool_use');
  });

  it('surfaces a mid-stream modelStreamErrorException as the typed exception', async () => {
    await withMock({ streamException: { afterEvents: 3, type: 'modelStreamErrorException', message: 'Model stream error', originalStatusCode: 500, originalMessage: 'overloaded' } }, async (_m, c) => {
      const response = await c.send(new ConverseStreamCommand({ modelId: CLAUDE_35, messages: [user('Story?')] }));
      const seen: string[] = [];
      let caught: unknown;
      try {
        for await (const event of response.stream!) if (event.contentBlockDelta?.delta?.text) seen.push(event.contentBlockDelta.delta.text);
      } catch (err) {
        caught = err;
      }
      expect(seen).toEqual(['The', ' little']);
      expect(caught).toBeInstanceOf(ModelStreamErrorException);
      const err = caught as ModelStreamErrorException;
      expect(err.name).toBe('ModelStreamErrorException');
      expect(err.message).toBe('Model stream error');
      expect(err.originalStatusCode).toBe(500);
      expect(err.originalMessage).toBe('overloaded');
    });
  });

  it('surfaces an in-stream throttlingException as ThrottlingException', async () => {
    await withMock({ streamException: { afterEvents: 1, type: 'throttlingException', message: 'Too many tokens, please wait before trying again.' } }, async (_m, c) => {
      const response = await c.send(new ConverseStreamCommand({ modelId: CLAUDE_35, messages: [user('Story?')] }));
      const err = await rejection(collect(response.stream));
      expect(err).toBeInstanceOf(ThrottlingException);
    });
  });

  it('fails the iteration when the connection drops mid-stream', async () => {
    await withMock({ dropAfterEvents: 4 }, async (m, c) => {
      const response = await c.send(new ConverseStreamCommand({ modelId: CLAUDE_35, messages: [user('Story?')] }));
      const err = await rejection(collect(response.stream));
      expect(err).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(m.aborted()).toBe(1);
    });
  });

  it('frames events as AWS event-stream messages with the documented headers', async () => {
    const path = bedrockPath(CLAUDE_35, 'converse-stream');
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Story?' }] }], inferenceConfig: { maxTokens: 2 } });
    const response = await fetch(`${mock.url}${path}`, { method: 'POST', headers: await sign(mock, path, body), body });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const frames = decodeBedrockEvents(new Uint8Array(await response.arrayBuffer()));
    expect(frames.map((f) => f.headers[':event-type'])).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(frames.every((f) => f.headers[':message-type'] === 'event' && f.headers[':content-type'] === 'application/json')).toBe(true);
    expect(frames[1]!.payload).toMatchObject({ contentBlockIndex: 0, delta: { text: 'The' }, p: expect.any(String) });
    expect(frames[4]!.payload).toMatchObject({ stopReason: 'max_tokens' });
  });
});

/** Signs a request the way a proxy would (undici/fetch, HTTP/1.1, `host` header). */
async function sign(target: BedrockMock, path: string, body: string, secretAccessKey = 'test-secret'): Promise<Record<string, string>> {
  const url = new URL(target.url);
  const signer = new SignatureV4({ service: 'bedrock', region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey }, sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: {},
    headers: { host: url.host, 'content-type': 'application/json', accept: 'application/json' },
    body,
  });
  const headers = { ...(signed.headers as Record<string, string>) };
  delete headers.host; // fetch sends the same value itself
  return headers;
}

describe('SigV4 verification', () => {
  it('accepts a request signed like a proxy would (HTTP/1.1, host header) and rejects the same headers with another body', async () => {
    const path = bedrockPath(CLAUDE_35, 'converse');
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });
    const headers = await sign(mock, path, body);
    const ok = await fetch(`${mock.url}${path}`, { method: 'POST', headers, body });
    expect(ok.status).toBe(200);
    expect(mock.requests.at(-1)!.httpVersion).toBe('1.1');
    expect(((await ok.json()) as { output: { message: { content: Array<{ text: string }> } } }).output.message.content[0]!.text).toBe(BEDROCK_ANSWER);

    const tampered = await fetch(`${mock.url}${path}`, { method: 'POST', headers, body: body.replace('Hi', 'Ho') });
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/);
    const error = (await tampered.json()) as { message: string };
    expect(error.message.startsWith(BEDROCK_SIGNATURE_MISMATCH)).toBe(true);
    expect(error.message).toContain(`The Canonical String for this request should have been\n'POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n`);
  });

  it('rejects a path that was signed without the second encoding (the classic proxy bug)', async () => {
    const path = bedrockPath(CLAUDE_35, 'converse');
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });
    const url = new URL(mock.url);
    const signer = new SignatureV4({ service: 'bedrock', region: 'us-east-1', credentials: CREDENTIALS, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers: { host: url.host, 'content-type': 'application/json' }, body });
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host;
    const response = await fetch(`${mock.url}${path}`, { method: 'POST', headers, body });
    expect(response.status).toBe(403);
    expect(mock.requests.at(-1)!.authError?.canonicalRequest).toContain('/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse');
  });

  it('rejects a wrong secret key with the SDK signature error', async () => {
    const wrong = clientFor(mock, { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'not-the-secret' } });
    try {
      const err = await rejection(wrong.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err).toBeInstanceOf(BedrockRuntimeServiceException);
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message.startsWith(BEDROCK_SIGNATURE_MISMATCH)).toBe(true);
      expect(err.message).toContain('/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse');
    } finally {
      wrong.destroy();
    }
  });

  it('rejects an unknown access key as an invalid security token', async () => {
    const wrong = clientFor(mock, { credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'test-secret' } });
    try {
      const err = await rejection(wrong.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('UnrecognizedClientException');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe('The security token included in the request is invalid.');
    } finally {
      wrong.destroy();
    }
  });

  it('rejects a credential scoped to another region', async () => {
    const elsewhere = clientFor(mock, { region: 'us-west-2' });
    try {
      const err = await rejection(elsewhere.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.message).toBe('Credential should be scoped to a valid region. ');
    } finally {
      elsewhere.destroy();
    }
  });

  it('rejects a body changed after signing (SDK middleware after httpSigningMiddleware)', async () => {
    const tampering = clientFor(mock);
    const tamperBody = afterSigning((request) => {
      // The SDK's JSON codec hands over a Uint8Array subclass: read its bytes without its string shims.
      const body = request.body;
      const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
      request.body = text.replace('Hi', 'Ho'); // same length, so content-length still matches
    });
    tampering.middlewareStack.addRelativeTo(tamperBody, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamperBody' });
    try {
      const err = await rejection(tampering.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(mock.requests.at(-1)!.body).toContain('"Ho"');
    } finally {
      tampering.destroy();
    }
  });

  it('rejects a signed header changed after signing', async () => {
    const tampering = clientFor(mock);
    const tamperHeader = afterSigning((request) => {
      request.headers['amz-sdk-request'] = 'attempt=2; max=1';
    });
    tampering.middlewareStack.addRelativeTo(tamperHeader, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamperHeader' });
    try {
      const err = await rejection(tampering.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('InvalidSignatureException');
    } finally {
      tampering.destroy();
    }
  });

  it('rejects a signature older than 5 minutes; the SDK corrects its clock from the Date header on retry', async () => {
    const late = clientFor(mock, { systemClockOffset: -10 * 60_000 });
    try {
      const err = await rejection(late.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    } finally {
      late.destroy();
    }
    const retrying = clientFor(mock, { systemClockOffset: -10 * 60_000, maxAttempts: 2 });
    try {
      const before = mock.counters.authFailures;
      const response = await retrying.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] }));
      expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
      expect(mock.counters.authFailures).toBe(before + 1);
    } finally {
      retrying.destroy();
    }
  });

  it('checks the session token of temporary credentials', async () => {
    const credentials = { accessKeyId: 'ASIATEST', secretAccessKey: 'test-secret', sessionToken: 'session-token-test' };
    await withMock({ credentials }, async (m) => {
      const good = clientFor(m, { credentials });
      const bad = clientFor(m, { credentials: { accessKeyId: 'ASIATEST', secretAccessKey: 'test-secret' } });
      try {
        const response = await good.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] }));
        expect(response.stopReason).toBe('end_turn');
        expect(m.requests.at(-1)!.headers['x-amz-security-token']).toBe('session-token-test');
        const err = await rejection(bad.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
        expect(err.name).toBe('UnrecognizedClientException');
      } finally {
        good.destroy();
        bad.destroy();
      }
    });
  });

  it('accepts a Bedrock API key sent as a bearer token', async () => {
    await withMock({ apiKey: 'bedrock-api-key-test' }, async (m) => {
      const bearer = clientFor(m, { token: { token: 'bedrock-api-key-test' }, authSchemePreference: ['httpBearerAuth'] });
      try {
        const response = await bearer.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] }));
        expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
        expect(m.requests.at(-1)!.auth).toBe('bearer');
        expect(m.requests.at(-1)!.headers.authorization).toBe('Bearer bedrock-api-key-test');
      } finally {
        bearer.destroy();
      }
    });
  });
});

describe('service errors', () => {
  it('answers throttling as a typed ThrottlingException with HTTP 429', async () => {
    await withMock({ failWith: { status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' } }, async (m, c) => {
      const err = await rejection(c.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] })));
      expect(err).toBeInstanceOf(ThrottlingException);
      expect(err.$metadata.httpStatusCode).toBe(429);
      expect(err.message).toBe('Too many requests, please wait before trying again.');
      expect(m.counters.errors).toBe(1);
    });
  });

  it('lets the SDK retry a throttled request that then succeeds', async () => {
    await withMock(
      { failWith: { status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait before trying again.', times: 1 } },
      async (m, c) => {
        const response = await c.send(new ConverseCommand({ modelId: CLAUDE_35, messages: [user('Hi')] }));
        expect(response.output?.message?.content?.[0]?.text).toBe(BEDROCK_ANSWER);
        expect(response.$metadata.attempts).toBe(2);
        expect(m.counters.converse).toBe(1);
        expect(m.requests.length).toBe(2);
      },
      { maxAttempts: 2 },
    );
  });
});

describe('fixtures', () => {
  const fixture = (name: string) => new URL(`../fixtures/bedrock/${name}`, import.meta.url);

  it.each(['stream-documented', 'stream-tool-use', 'stream-thinking', 'stream-model-stream-error'])('%s.bin parses with the SDK and matches its .jsonl', async (name) => {
    const bytes = new Uint8Array(readFileSync(fixture(`${name}.bin`)));
    const jsonl = readFileSync(fixture(`${name}.jsonl`), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(decodeBedrockEvents(bytes)).toEqual(jsonl);
    await withMock({ replayStream: bytes }, async (_m, c) => {
      const response = await c.send(new ConverseStreamCommand({ modelId: CLAUDE_35, messages: [user('Hi')] }));
      const events: ConverseStreamOutput[] = [];
      let caught: unknown;
      try {
        for await (const event of response.stream!) events.push(event);
      } catch (err) {
        caught = err;
      }
      const frames = jsonl as Array<{ headers: Record<string, string> }>;
      const exceptions = frames.filter((f) => f.headers[':message-type'] === 'exception').length;
      expect(events.length).toBe(frames.length - exceptions);
      if (exceptions) expect(caught).toBeInstanceOf(ModelStreamErrorException);
      else expect(caught).toBeUndefined();
      if (name === 'stream-tool-use') {
        const input = events.flatMap((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? []).join('');
        expect(JSON.parse(input)).toEqual({ sign: 'WZPZ' });
      }
    });
  });

  it('the JSON answers are valid Converse responses', () => {
    const text = JSON.parse(readFileSync(fixture('converse-text.json'), 'utf8')) as { stopReason: string; usage: Record<string, number> };
    expect(text.stopReason).toBe('end_turn');
    expect(text.usage.totalTokens).toBe(text.usage.inputTokens! + text.usage.outputTokens!);
    const refusal = JSON.parse(readFileSync(fixture('error-prefill-refusal.json'), 'utf8')) as { body: { message: string } };
    expect(refusal.body.message).toBe(BEDROCK_PREFILL_REFUSAL);
  });
});

describe('the worked signing example of the notes', () => {
  it('is accepted as computed (frozen date, Host bedrock-runtime.us-east-1.amazonaws.com)', async () => {
    await withMock({ maxSkewMs: Number.POSITIVE_INFINITY }, async (m) => {
      const body = '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}';
      const headers = {
        host: 'bedrock-runtime.us-east-1.amazonaws.com',
        'content-type': 'application/json',
        'x-amz-date': '20250101T000000Z',
        'x-amz-content-sha256': '45e583fed2564dc00e823303d7609f8587af7f685b993cb0f998afc0d480b01d',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDTEST/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=96efe5745ddf7cb63476bdd484e8a90ed798b9d73b817529f7390981f08fdc45',
      };
      const post = (payload: string) =>
        new Promise<number>((resolve, reject) => {
          const url = new URL(m.url);
          const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse', headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(payload);
        });
      expect(await post(body)).toBe(200);
      expect(await post(body.replace('Hi', 'Ho'))).toBe(403);
      expect(m.requests[1]!.authError?.canonicalRequest?.split('\n')[1]).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse');
    });
  });
});
