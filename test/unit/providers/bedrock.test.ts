import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../../src/answer/types.js';
import { ChatRequest } from '../../../src/chat/schema.js';
import { loadConfig } from '../../../src/config/env.js';
import { inferProvider } from '../../../src/config/infer-provider.js';
import { encodeChatCompletion } from '../../../src/doors/chat/encode.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { bedrockAnswers, finishReason } from '../../../src/providers/bedrock/answers.js';
import { bedrockRegionOf } from '../../../src/providers/bedrock/endpoint.js';
import { preloadEventStreamCodec } from '../../../src/providers/bedrock/event-stream.js';
import { bedrock } from '../../../src/providers/bedrock/index.js';
import { baseModelId, modelSupportsPrefill } from '../../../src/providers/bedrock/models.js';
import { conversePath, toConverseRequest } from '../../../src/providers/bedrock/request.js';
import { providerFor } from '../../../src/providers/index.js';
import { SigV4Upstream } from '../../../src/upstream/signed-upstream.js';
import type { Upstream, UpstreamRequest } from '../../../src/upstream/types.js';
import { BEDROCK_PREFILL_REFUSAL, encodeBedrockEvent } from '../../mocks/bedrock.js';
import { planFor, streamThrough } from '../../helpers/pipeline.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/bedrock/${name}`, import.meta.url));
const json = (name: string) => JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
const parse = (body: Record<string, unknown>) => ChatRequest.parse(body);
const empty = Buffer.alloc(0);
const CLAUDE_35 = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

beforeAll(async () => {
  await preloadEventStreamCodec();
});

describe('OpenAI → Bedrock Converse request', () => {
  it('system and developer → system blocks; messages as content blocks; inferenceConfig; no model in the body', () => {
    const body = toConverseRequest(
      parse({
        model: CLAUDE_35,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
          { role: 'user', content: [{ type: 'text', text: 'there' }, { type: 'text', text: '   ' }] },
          { role: 'assistant', content: 'Salut' },
          { role: 'user', content: 'Again' },
        ],
        max_tokens: 10,
        max_completion_tokens: 20,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        stop: 'END',
        seed: 3,
        frequency_penalty: 1,
        user: 'u-1',
      }),
    );
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }, { text: 'Answer in French.' }],
      messages: [
        // Consecutive user messages become one turn; blank text is left out (Bedrock refuses it).
        { role: 'user', content: [{ text: 'Hi' }, { text: 'there' }] },
        { role: 'assistant', content: [{ text: 'Salut' }] },
        { role: 'user', content: [{ text: 'Again' }] },
      ],
      inferenceConfig: { maxTokens: 20, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      additionalModelRequestFields: { top_k: 40 },
    });
  });

  it('images (data URLs as bytes, s3 URLs), tools, tool calls and tool results', () => {
    const body = toConverseRequest(
      parse({
        model: CLAUDE_35,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 's3://bucket/cat.jpg' } },
            ],
          },
          { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
          { role: 'tool', tool_call_id: 'call_2', content: '' },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
        tool_choice: 'required',
      }),
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { text: 'What is this?' },
          { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
          { image: { format: 'jpeg', source: { s3Location: { uri: 's3://bucket/cat.jpg' } } } },
        ],
      },
      { role: 'assistant', content: [{ text: 'Let me look.' }, { toolUse: { toolUseId: 'call_1', name: 'lookup', input: { q: 'cat' } } }] },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ text: 'a cat' }] } },
          { toolResult: { toolUseId: 'call_2', content: [{ text: '(empty)' }] } },
        ],
      },
    ]);
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'lookup', description: 'Looks up', inputSchema: { json: { type: 'object', properties: { q: { type: 'string' } } } } } }],
      toolChoice: { any: {} },
    });
    const named = toConverseRequest(parse({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } } }));
    expect(named.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } }], toolChoice: { tool: { name: 'f' } } });
  });

  it('refuses what Bedrock cannot take, naming the field', () => {
    const user = (content: unknown) => parse({ model: 'm', messages: [{ role: 'user', content }] });
    expect(() => toConverseRequest(user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }]))).toThrowError(/data URLs/);
    expect(() => toConverseRequest(user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,AAAA' } }]))).toThrowError(/png, jpeg, gif and webp/);
    expect(() => toConverseRequest(user([{ type: 'input_audio', input_audio: {} }]))).toThrowError(/input_audio/);
    expect(() => toConverseRequest(parse({ model: 'm', n: 2, messages: [{ role: 'user', content: 'x' }] }))).toThrowError(/n must be 1/);
    expect(() => conversePath(parse({ messages: [{ role: 'user', content: 'x' }] }))).toThrowError(/model ID/);
  });

  it('extended thinking only for Claude, in additionalModelRequestFields; Bedrock-native fields pass', () => {
    const ask = (model: string, extra: Record<string, unknown>) => toConverseRequest(parse({ model, messages: [{ role: 'user', content: 'x' }], ...extra }));
    expect(ask(CLAUDE_35, { reasoning_effort: 'low' }).additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(ask(`us.${CLAUDE_35}`, { reasoning_budget_tokens: 10 }).additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(ask('meta.llama3-70b-instruct-v1:0', { reasoning_effort: 'low' })).not.toHaveProperty('additionalModelRequestFields');
    const native = ask(CLAUDE_35, { guardrailConfig: { guardrailIdentifier: 'g', guardrailVersion: '1' }, additionalModelRequestFields: { anthropic_beta: ['x'] }, performanceConfig: { latency: 'optimized' } });
    expect(native).toMatchObject({ guardrailConfig: { guardrailIdentifier: 'g', guardrailVersion: '1' }, additionalModelRequestFields: { anthropic_beta: ['x'] }, performanceConfig: { latency: 'optimized' } });
  });

  it('the path carries the model ID encoded once, as the AWS SDKs encode it (an ARN stays one segment)', () => {
    const path = (model: string, stream = false) => conversePath(parse({ model, stream, messages: [{ role: 'user', content: 'x' }] }));
    expect(path(CLAUDE_35)).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(path(CLAUDE_35, true)).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expect(path('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe(
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse',
    );
    expect(path('a b+c%d~e(1)')).toBe('/model/a%20b%2Bc%25d~e%281%29/converse');
  });
});

describe('Bedrock prefill', () => {
  const messages = (prefix: string) => [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: prefix }];

  it('Claude: a trailing assistant message without its trailing whitespace, which is not doubled in the answer', () => {
    const plan = planFor('bedrock', parse({ model: CLAUDE_35, messages: messages('The quick brown fox  ') }), { raw: empty });
    expect(plan.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect((plan.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: [{ text: 'The quick brown fox' }] });
    expect(plan.body).not.toHaveProperty('model');
    expect(plan.answer).toMatchObject({ kind: 'native', prefix: 'The quick brown fox  ', repeated: { text: '  ' } });
  });

  it('other models keep the whitespace (they accept it); a blank prefix is never sent', () => {
    const llama = planFor('bedrock', parse({ model: 'meta.llama3-70b-instruct-v1:0', messages: messages('Once upon a time ') }), { raw: empty });
    expect((llama.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: [{ text: 'Once upon a time ' }] });
    expect(llama.answer.repeated).toBeUndefined();
    const blank = planFor('bedrock', parse({ model: 'meta.llama3-70b-instruct-v1:0', messages: messages('  ') }), { raw: empty });
    expect((blank.body as { messages: Array<{ role: string }> }).messages.at(-1)!.role).toBe('user');
  });

  it('Claude 4.6 and later refuse prefill, by any name Bedrock gives them: the fallback', () => {
    const refusing = [
      'anthropic.claude-sonnet-4-6',
      'anthropic.claude-opus-4-6-v1',
      'anthropic.claude-opus-4-7',
      'us.anthropic.claude-sonnet-4-6',
      'global.anthropic.claude-opus-4-7',
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-6-v1',
      'anthropic.claude-opus-5',
      'anthropic.claude-fable-5-v1:0',
    ];
    for (const model of refusing) expect([model, modelSupportsPrefill(model)]).toEqual([model, false]);
    const accepting = [
      CLAUDE_35,
      'anthropic.claude-3-haiku-20240307-v1:0',
      'anthropic.claude-sonnet-4-20250514-v1:0',
      'anthropic.claude-opus-4-1-20250805-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'anthropic.claude-haiku-4-5-20251001-v1:0',
      'meta.llama3-70b-instruct-v1:0',
      'mistral.mistral-large-2407-v1:0',
      // Opaque: tried, and a refusal takes the fallback.
      'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3',
    ];
    for (const model of accepting) expect([model, modelSupportsPrefill(model)]).toEqual([model, true]);
    expect(baseModelId('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6')).toBe('anthropic.claude-sonnet-4-6');

    const plan = planFor('bedrock', parse({ model: 'us.anthropic.claude-sonnet-4-6', messages: messages('The quick brown fox') }), { raw: empty });
    expect(plan.answer.kind).toBe('emulated');
    expect((plan.body as { messages: Array<{ role: string }> }).messages.at(-1)!.role).toBe('user');
    expect(plan.path).toBe('/model/us.anthropic.claude-sonnet-4-6/converse');
    expect(() => planFor('bedrock', parse({ model: 'anthropic.claude-sonnet-4-6', messages: messages('x') }), { raw: empty, fallback: 'reject' })).toThrowError(
      /PREFILL_FALLBACK=reject/,
    );
  });

  it('no prefill with Claude thinking, nor a reasoning prefix', () => {
    const thinking = parse({ model: CLAUDE_35, messages: messages('Well'), reasoning_effort: 'low' });
    expect(bedrock.supportsPrefill(thinking)).toBe(false);
    const reasoning = parse({ model: CLAUDE_35, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: '', reasoning_content: 'I need to' }] });
    expect(bedrock.supportsPrefill(reasoning)).toBe(false);
  });

  it("Bedrock's prefill refusal (400 ValidationException) takes the fallback; other errors do not", () => {
    const refusal = json('error-prefill-refusal.json') as { status: number; body: { message: string } };
    expect(refusal.body.message).toBe(BEDROCK_PREFILL_REFUSAL);
    expect(bedrock.recoverFromError?.(refusal.status, JSON.stringify(refusal.body), {})).toEqual({ fallback: true });
    const whitespace = json('error-trailing-whitespace.json') as { status: number; body: unknown };
    expect(bedrock.recoverFromError?.(whitespace.status, JSON.stringify(whitespace.body), {})).toBeUndefined();
    expect(bedrock.recoverFromError?.(403, JSON.stringify(refusal.body), {})).toBeUndefined();
  });

  it('a Bedrock API key goes as a bearer token; mode explicit cannot start a new turn after an assistant message', () => {
    expect(bedrock.authHeaders('bedrock-api-key')).toEqual({ accept: '*/*', authorization: 'Bearer bedrock-api-key' });
    expect(bedrock.authHeaders(undefined)).toEqual({ accept: '*/*' });
    expect(bedrock.noNewTurnAfterAssistant).toBe(true);
    expect(providerFor('bedrock')).toBe(bedrock);
  });
});

describe('Bedrock Converse → OpenAI answers', () => {
  const request = parse({ model: CLAUDE_35, messages: [{ role: 'user', content: 'x' }] });

  it('maps every stop reason', () => {
    const reasons = ['end_turn', 'stop_sequence', 'max_tokens', 'model_context_window_exceeded', 'tool_use', 'guardrail_intervened', 'content_filtered', 'malformed_model_output'];
    expect(reasons.map(finishReason)).toEqual(['stop', 'stop', 'length', 'length', 'tool_calls', 'content_filter', 'content_filter', 'stop']);
  });

  it("the documented Converse answer, as the Chat Completions client gets it", () => {
    const answer = bedrockAnswers.whole(json('converse-text.json'), request);
    const completion = JSON.parse(encodeChatCompletion(answer));
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: CLAUDE_35,
      choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: expect.stringMatching(/^Here is a list of 3 pop songs/), refusal: null } }],
      usage: { prompt_tokens: 125, completion_tokens: 60, total_tokens: 185 },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
  });

  it('tool use and reasoning; usage with the cache fields', () => {
    const tool = bedrockAnswers.whole(json('converse-tool-use.json'), request);
    expect(tool.choices[0]).toMatchObject({
      content: null,
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'top_song', arguments: '{"sign":"WZPZ"}' } }],
    });
    const reasoning = bedrockAnswers.whole(json('converse-reasoning.json'), request);
    expect(reasoning.choices[0]).toMatchObject({ content: 'The capital of France is Paris.', reasoning: 'The user asks for the capital of France.', finishReason: 'stop' });
    const cached = bedrockAnswers.whole(
      { output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 4, outputTokens: 324, totalTokens: 2106, cacheReadInputTokens: 0, cacheWriteInputTokens: 1778 } },
      request,
    );
    expect(cached.usage).toEqual({
      prompt_tokens: 1782,
      completion_tokens: 324,
      total_tokens: 2106,
      prompt_tokens_details: { cached_tokens: 0 },
      cache_creation_input_tokens: 1778,
      cache_read_input_tokens: 0,
    });
    expect(() => bedrockAnswers.whole({ choices: [] }, request)).toThrowError(/not a Converse answer/);
  });
});

describe('ConverseStream (AWS event-stream) → events', () => {
  /** Decodes `bytes` cut into pieces of `size`; returns the events. */
  function decode(bytes: Buffer, size: number, maxEventBytes = 1 << 20): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    const decoder = bedrockAnswers.stream(parse({ model: CLAUDE_35, messages: [{ role: 'user', content: 'x' }], stream: true }), (event) => events.push(event), { maxEventBytes });
    for (let i = 0; i < bytes.length; i += size) decoder.write(bytes.subarray(i, i + size));
    decoder.end();
    return events;
  }
  const text = (events: AnswerEvent[], field: 'content' | 'reasoning') => events.map((event) => (event.type === 'delta' ? (event[field] ?? '') : '')).join('');
  const streams = ['stream-documented.bin', 'stream-tool-use.bin', 'stream-thinking.bin', 'stream-model-stream-error.bin'];

  it('every recorded stream decodes the same at every cut size (frames split across chunks, several in one chunk)', () => {
    for (const name of streams) {
      const bytes = fixture(name);
      const whole = decode(bytes, bytes.length);
      for (let size = 1; size <= bytes.length; size++) {
        const cut = decode(bytes, size);
        // Identities carry a made-up ID and the time: compare the rest.
        expect(cut.map(withoutIdentity)).toEqual(whole.map(withoutIdentity));
      }
    }
  });

  it('the documented stream: text deltas, max_tokens → length, usage from metadata, then done', () => {
    const events = decode(fixture('stream-documented.bin'), 7);
    expect(events[0]).toMatchObject({ type: 'start', identity: { model: CLAUDE_35 } });
    expect(events[1]).toEqual({ type: 'delta', index: 0, role: true, content: '' });
    expect(text(events, 'content')).toBe(' Title: The');
    expect(events.slice(-3)).toEqual([
      { type: 'finish', index: 0, reason: 'length' },
      { type: 'usage', usage: expect.objectContaining({ prompt_tokens: 47, completion_tokens: 20, total_tokens: 67 }) },
      { type: 'done' },
    ]);
  });

  it('tool use: contentBlockStart gives the id and name, input pieces the arguments; reasoning text → reasoning', () => {
    const tool = decode(fixture('stream-tool-use.bin'), 5);
    expect(text(tool, 'content')).toBe('Let me look that up.');
    const calls = tool.flatMap((event) => (event.type === 'delta' ? (event.toolCalls ?? []) : []));
    expect(calls[0]).toEqual({ index: 0, id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'top_song', arguments: '' } });
    expect(calls.map((call) => call.function?.arguments ?? '').join('')).toBe('{"sign": "WZPZ"}');
    expect(tool.find((event) => event.type === 'finish')).toEqual({ type: 'finish', index: 0, reason: 'tool_calls' });
    const thinking = decode(fixture('stream-thinking.bin'), 3);
    expect(text(thinking, 'reasoning')).toBe('The user asks for the capital of France.');
    expect(text(thinking, 'content')).toBe('The capital of France is Paris.');
    expect(thinking.at(-1)).toEqual({ type: 'done' });
  });

  it('an exception frame ends the stream with an error event (no done)', () => {
    const events = decode(fixture('stream-model-stream-error.bin'), 11);
    expect(text(events, 'content')).toBe('The little');
    expect(events.at(-1)).toEqual({
      type: 'error',
      error: { status: 424, message: 'Model stream error (overloaded)', type: 'upstream_error', param: null, code: 'ModelStreamErrorException' },
    });
    expect(events.some((event) => event.type === 'done')).toBe(false);
    const throttled = decode(Buffer.from(encodeBedrockEvent({ type: 'throttlingException', payload: { message: 'Too many tokens' }, exception: true })), 4);
    expect(throttled).toEqual([{ type: 'error', error: { status: 429, message: 'Too many tokens', type: 'upstream_error', param: null, code: 'ThrottlingException' } }]);
  });

  it('an `error` message type (error code and message in headers) is an error event too', async () => {
    const { EventStreamCodec } = await import('@smithy/eventstream-codec');
    const { fromUtf8, toUtf8 } = await import('@smithy/util-utf8');
    const frame = new EventStreamCodec(toUtf8, fromUtf8).encode({
      headers: { ':message-type': { type: 'string', value: 'error' }, ':error-code': { type: 'string', value: 'InternalFailure' }, ':error-message': { type: 'string', value: 'boom' } },
      body: new Uint8Array(0),
    });
    expect(decode(Buffer.from(frame), 9)).toEqual([{ type: 'error', error: { status: 502, message: 'boom', type: 'upstream_error', param: null, code: 'InternalFailure' } }]);
  });

  it('a stream that ends before messageStop, or before metadata, is truncated; a cut frame too', () => {
    const bytes = fixture('stream-documented.bin');
    const frames = frameEnds(bytes);
    const beforeStop = decode(bytes.subarray(0, frames.at(-3)!), 3);
    expect(beforeStop.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_stream_truncated', message: expect.stringContaining('messageStop') } });
    const beforeMetadata = decode(bytes.subarray(0, frames.at(-2)!), 3);
    expect(beforeMetadata.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_stream_truncated', message: expect.stringContaining('metadata') } });
    const midFrame = decode(bytes.subarray(0, bytes.length - 5), 3);
    expect(midFrame.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_stream_truncated' } });
    expect(midFrame.filter((event) => event.type === 'error')).toHaveLength(1);
  });

  it('a frame larger than UPSTREAM_MAX_EVENT_BYTES is refused before it is held; a damaged frame is invalid', () => {
    const big = Buffer.from(encodeBedrockEvent({ type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'x'.repeat(5000) } } }));
    const events = decode(Buffer.concat([fixture('stream-documented.bin').subarray(0, frameEnds(fixture('stream-documented.bin'))[0]), big]), 64, 2048);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_event_too_large', message: expect.stringContaining('2048') } });
    const damaged = Buffer.from(fixture('stream-documented.bin'));
    damaged[40] = damaged[40]! ^ 0xff;
    expect(decode(damaged, 1000).at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_invalid_response' } });
    expect(decode(Buffer.from([0, 0, 0, 3, 1, 2, 3, 4]), 8).at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_invalid_response' } });
  });

  it('through the pipeline: Chat Completions chunks, a trimmed space not doubled, usage, [DONE]; an exception → an error event', async () => {
    const plan: AnswerPlan = { kind: 'native', prefix: 'Story ', echo: false, repeated: { text: ' ', skipLeadingWhitespace: false } };
    const request = parse({ model: CLAUDE_35, messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
    for (const size of [1, 7, 64, 4096]) {
      const result = await streamThrough('bedrock', plan, fixture('stream-documented.bin'), { pieceSize: size, request });
      expect(result.content).toBe('Title: The');
      expect(result.finishReasons).toEqual(['length']);
      expect(result.usage).toMatchObject({ prompt_tokens: 47, completion_tokens: 20, total_tokens: 67 });
      expect(result.done).toBe(true);
    }
    const echoed = await streamThrough('bedrock', { ...plan, echo: true }, fixture('stream-documented.bin'), { pieceSize: 13, request });
    expect(echoed.content).toBe('Story Title: The');
    const failed = await streamThrough('bedrock', { kind: 'none', prefix: '', echo: false }, fixture('stream-model-stream-error.bin'), { pieceSize: 13, request });
    expect(failed.done).toBe(false);
    expect(JSON.parse(failed.events.at(-1)!)).toEqual({ error: { message: 'Model stream error (overloaded)', type: 'upstream_error', param: null, code: 'ModelStreamErrorException' } });
  });
});

describe('SigV4 signing (SigV4Upstream)', () => {
  const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
  const body = '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}';
  const path = '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse';
  /** An inner upstream that records what it would send. */
  function recorder() {
    const sent: UpstreamRequest[] = [];
    const inner: Upstream = {
      description: 'recorder',
      request: async (request) => {
        sent.push(request);
        return { statusCode: 200, headers: {}, body: Readable.from([]) };
      },
      close: async () => {},
    };
    return { sent, inner };
  }

  it('matches the worked example of the notes (path encoded once on the wire, twice in the canonical request)', async () => {
    const upstream = new SigV4Upstream(recorder().inner, { service: 'bedrock', region: 'us-east-1', credentials, origin: 'https://bedrock-runtime.us-east-1.amazonaws.com', basePath: '' });
    const headers = await upstream.sign({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body }, new Date('2025-01-01T00:00:00Z'));
    expect(headers).toEqual({
      host: 'bedrock-runtime.us-east-1.amazonaws.com',
      'content-type': 'application/json',
      'x-amz-date': '20250101T000000Z',
      'x-amz-content-sha256': '45e583fed2564dc00e823303d7609f8587af7f685b993cb0f998afc0d480b01d',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDTEST/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=96efe5745ddf7cb63476bdd484e8a90ed798b9d73b817529f7390981f08fdc45',
    });
  });

  it('signs each request just before it goes, with its final body; client copies of the signed headers never go; other headers go unsigned', async () => {
    const { sent, inner } = recorder();
    const upstream = new SigV4Upstream(inner, {
      service: 'bedrock',
      region: 'eu-west-3',
      credentials: { ...credentials, sessionToken: 'session-token-1234' },
      origin: 'http://127.0.0.1:9000',
      basePath: '/prefix',
    });
    await upstream.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', accept: '*/*', 'user-agent': 'openai', 'x-amz-date': '19990101T000000Z', authorization: 'Bearer client', 'x-amzn-bedrock-trace': 'ENABLED' },
      body: Buffer.from(body),
    });
    const headers = sent[0]!.headers;
    expect(sent[0]!.path).toBe(path);
    expect(sent[0]!.body).toEqual(Buffer.from(body));
    expect(headers.host).toBe('127.0.0.1:9000');
    expect(headers['x-amz-security-token']).toBe('session-token-1234');
    expect(headers['x-amz-date']).not.toBe('19990101T000000Z');
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-3\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amzn-bedrock-trace, Signature=[0-9a-f]{64}$/);
    expect(headers).toMatchObject({ accept: '*/*', 'user-agent': 'openai' });
  });

  it('verifies: the mock accepts what it signs (see test/integration/bedrock.test.ts); the codec and signer load only on first use', async () => {
    // The provider module itself imports neither library at load time.
    const source = readFileSync(new URL('../../../src/providers/bedrock/event-stream.ts', import.meta.url), 'utf8') + readFileSync(new URL('../../../src/upstream/signed-upstream.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^import (?!type)[^;]*@smithy/m);
  });
});

describe('Bedrock configuration', () => {
  const keys = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test-secret' };

  it('the provider is inferred from the host, whose region is signed for; without a URL, the region gives it', () => {
    expect(inferProvider(new URL('https://bedrock-runtime.us-west-2.amazonaws.com'))).toBe('bedrock');
    expect(bedrockRegionOf('bedrock-runtime-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(bedrockRegionOf('vpce-0abc.bedrock-runtime.eu-central-1.vpce.amazonaws.com')).toBe('eu-central-1');
    const fromHost = loadConfig({ UPSTREAM_URL: 'https://bedrock-runtime.us-west-2.amazonaws.com', AWS_REGION: 'eu-west-1', ...keys });
    expect(fromHost.upstream).toMatchObject({ provider: 'bedrock', providerSource: 'inferred', origin: 'https://bedrock-runtime.us-west-2.amazonaws.com', basePath: '' });
    expect(fromHost.upstream.aws).toEqual({ service: 'bedrock', region: 'us-west-2', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    const fromRegion = loadConfig({ UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'eu-west-1', AWS_SESSION_TOKEN: 'tok', ...keys });
    expect(fromRegion.upstream.origin).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com');
    expect(fromRegion.upstream.aws?.credentials).toMatchObject({ sessionToken: 'tok' });
  });

  it("clear errors: no region, half a key pair; no keys: AWS's default chain; a Bedrock API key needs no credentials", () => {
    expect(() => loadConfig({ UPSTREAM_PROVIDER: 'bedrock', ...keys })).toThrowError(/UPSTREAM_URL: required for Bedrock unless the region is given/);
    expect(() => loadConfig({ UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDTEST' })).toThrowError(/both are needed/);
    // No keys and no API key: signed with what AWS's default chain finds (a profile, SSO, a role).
    expect(loadConfig({ UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1' }).upstream.aws).toEqual({ service: 'bedrock', region: 'us-east-1', credentials: 'default-chain' });
    expect(() => loadConfig({ UPSTREAM_PROVIDER: 'bedrock', UPSTREAM_URL: 'http://127.0.0.1:9000', ...keys })).toThrowError(/region to sign for is unknown/);
    const bearer = loadConfig({ UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', UPSTREAM_API_KEY: 'bedrock-api-key-1234' });
    expect(bearer.upstream.aws).toEqual({ service: 'bedrock', region: 'us-east-1', credentials: undefined });
  });

  it('config file: aws_* keys with ${ENV} interpolation, the environment as the default; only on bedrock upstreams', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bedrock-config-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'upstreams:',
        '  east:',
        '    provider: bedrock',
        '    aws_region: us-east-1',
        '    aws_access_key_id: ${EAST_KEY_ID}',
        '    aws_secret_access_key: ${EAST_SECRET}',
        '    aws_session_token: ${EAST_TOKEN:-}',
        '  west:',
        '    provider: bedrock',
        '    url: https://bedrock-runtime.us-west-2.amazonaws.com',
        'models:',
        '  - name: claude',
        '    upstream: east',
        '    upstream_model: us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        'default_upstream: west',
      ].join('\n'),
    );
    const config = loadConfig({ CONFIG_FILE: file, EAST_KEY_ID: 'AKIDEAST', EAST_SECRET: 'east-secret', ...keys });
    const [east, west] = config.routing.upstreams;
    expect(east).toMatchObject({ name: 'east', origin: 'https://bedrock-runtime.us-east-1.amazonaws.com', aws: { region: 'us-east-1', credentials: { accessKeyId: 'AKIDEAST', secretAccessKey: 'east-secret' } } });
    expect(east!.aws!.credentials).not.toHaveProperty('sessionToken');
    expect(west).toMatchObject({ name: 'west', aws: { region: 'us-west-2', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } } });
    writeFileSync(file, ['upstreams:', '  oa:', '    provider: openai', '    url: https://api.openai.com/v1', '    aws_region: us-east-1'].join('\n'));
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrowError(/upstreams\.oa\.aws_region: only for provider bedrock/);
  });
});

/** The end offset of each frame of an event-stream body. */
function frameEnds(bytes: Buffer): number[] {
  const ends: number[] = [];
  for (let offset = 0; offset < bytes.length; offset += bytes.readUInt32BE(offset)) ends.push(offset + bytes.readUInt32BE(offset));
  return ends;
}

function withoutIdentity(event: AnswerEvent): AnswerEvent {
  return event.type === 'start' ? { ...event, identity: { ...event.identity, id: '', created: 0 } } : event;
}
