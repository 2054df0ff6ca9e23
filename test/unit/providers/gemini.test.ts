import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../../src/answer/types.js';
import { ChatRequest } from '../../../src/chat/schema.js';
import { loadConfig } from '../../../src/config/env.js';
import { encodeChatCompletion } from '../../../src/doors/chat/encode.js';
import { upstreamHttpError } from '../../../src/errors.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { finishReason, geminiAnswers, toUsage } from '../../../src/providers/gemini/answers.js';
import { gemini } from '../../../src/providers/gemini/index.js';
import { levelForBudget, refusesPrefill } from '../../../src/providers/gemini/models.js';
import { SKIP_THOUGHT_SIGNATURE, geminiPath, toGeminiRequest } from '../../../src/providers/gemini/request.js';
import { planFor, streamThrough } from '../../helpers/pipeline.js';

const empty = Buffer.alloc(0);
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/gemini/${name}`, import.meta.url));
const json = (name: string) => JSON.parse(fixture(name).toString('utf8')) as unknown;
const chat = (body: Record<string, unknown>) => ChatRequest.parse(body);
const user = { role: 'user', content: 'Finish the sentence.' };

type Body = {
  contents: Array<{ role: string; parts: Array<Record<string, unknown>> }>;
  systemInstruction?: unknown;
  generationConfig?: Record<string, unknown>;
  tools?: unknown;
  toolConfig?: unknown;
};

describe('OpenAI → Gemini request', () => {
  it('system and developer messages → systemInstruction; roles user/model; generation settings → generationConfig', () => {
    const body = toGeminiRequest(
      chat({
        model: 'gemini-2.5-flash',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Bonjour.' },
          { role: 'user', content: [{ type: 'text', text: 'Again' }] },
        ],
        max_tokens: 10,
        max_completion_tokens: 20,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        stop: 'END',
        seed: 3,
        n: 2,
        presence_penalty: 0.5,
        frequency_penalty: 0.1,
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
        user: 'u-1',
        logit_bias: { 1: 2 },
        stream_options: { include_usage: true },
      }),
    );
    expect(body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Bonjour.' }] },
        { role: 'user', parts: [{ text: 'Again' }] },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      generationConfig: {
        maxOutputTokens: 20,
        temperature: 0.2,
        topP: 0.9,
        topK: 40,
        presencePenalty: 0.5,
        frequencyPenalty: 0.1,
        seed: 3,
        stopSequences: ['END'],
        candidateCount: 2,
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'object' },
        thinkingConfig: { includeThoughts: true },
      },
    });
    const jsonMode = toGeminiRequest(chat({ model: 'gemini-2.0-flash', messages: [user], response_format: { type: 'json_object' }, stop: ['a', 'b'] }));
    expect(jsonMode.generationConfig).toEqual({ responseMimeType: 'application/json', stopSequences: ['a', 'b'] });
  });

  it('the newest models get no sampling fields or penalties (deprecated there, penalties refused)', () => {
    const body = toGeminiRequest(chat({ model: 'gemini-3.6-flash', messages: [user], temperature: 0.2, top_p: 0.9, presence_penalty: 1, max_tokens: 5 }));
    expect(body.generationConfig).toEqual({ maxOutputTokens: 5, thinkingConfig: { includeThoughts: true } });
  });

  it('images: data URLs inline, http URLs as fileData; audio and files inline; other parts are a 400 naming the part', () => {
    const body = toGeminiRequest(
      chat({
        model: 'gemini-2.5-flash',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=2' } },
              { type: 'image_url', image_url: { url: 'https://example.com/render' } },
              { type: 'input_audio', input_audio: { data: 'AAAA', format: 'mp3' } },
              { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=' } },
            ],
          },
        ],
      }),
    ) as Body;
    expect(body.contents[0]!.parts).toEqual([
      { text: 'What is this?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=2' } },
      { fileData: { fileUri: 'https://example.com/render' } },
      { inlineData: { mimeType: 'audio/mpeg', data: 'AAAA' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
    ]);
    const bad = (part: unknown) => () => toGeminiRequest(chat({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [part] }] }));
    expect(bad({ type: 'image_url', image_url: { url: 'ftp://example.com/cat.png' } })).toThrowError(/http\(s\) URL or a base64 data URL/);
    expect(bad({ type: 'file', file: { file_id: 'file-1' } })).toThrowError(/file ids cannot be sent/);
    expect(bad({ type: 'video', video: {} })).toThrowError(expect.objectContaining({ status: 400, param: 'messages[0].content[0]' }));
  });

  it('tools → functionDeclarations with the JSON Schema as parametersJsonSchema; tool_choice → functionCallingConfig', () => {
    const parameters = { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false };
    const body = toGeminiRequest(
      chat({
        model: 'gemini-2.5-flash',
        messages: [user],
        tools: [
          { type: 'function', function: { name: 'lookup', description: 'Looks up', parameters } },
          { type: 'function', function: { name: 'now' } },
        ],
        tool_choice: { type: 'function', function: { name: 'lookup' } },
        parallel_tool_calls: false,
      }),
    );
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: 'lookup', description: 'Looks up', parametersJsonSchema: parameters }, { name: 'now' }] }]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } });
    const choice = (tool_choice: unknown) => toGeminiRequest(chat({ model: 'gemini-2.5-flash', messages: [user], tool_choice })).toolConfig;
    expect([choice('auto'), choice('none'), choice('required'), choice(undefined)]).toEqual([
      { functionCallingConfig: { mode: 'AUTO' } },
      { functionCallingConfig: { mode: 'NONE' } },
      { functionCallingConfig: { mode: 'ANY' } },
      undefined,
    ]);
    expect(() => toGeminiRequest(chat({ model: 'm', messages: [user], tools: [{ type: 'code_interpreter' }] }))).toThrowError(/Only function tools/);
  });

  it('tool calls → functionCall parts, tool results → functionResponse parts named after their call, at the end of their user turn', () => {
    const messages = [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      { role: 'tool', tool_call_id: 'call_2', content: 'noon' },
      { role: 'user', content: 'And tomorrow?' },
    ];
    const body = toGeminiRequest(chat({ model: 'gemini-2.5-flash', messages })) as Body;
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }, { functionCall: { name: 'get_time', args: {} } }],
      },
      {
        role: 'user',
        parts: [
          { text: 'And tomorrow?' },
          { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
          { functionResponse: { name: 'get_time', response: { result: 'noon' } } },
        ],
      },
    ]);
    expect(() => toGeminiRequest(chat({ model: 'm', messages: [user, { role: 'tool', tool_call_id: 'nope', content: 'x' }] }))).toThrowError(/must answer a tool call/);
    expect(() =>
      toGeminiRequest(chat({ model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{' } }] }] })),
    ).toThrowError(expect.objectContaining({ param: 'messages[0].tool_calls[0].function.arguments' }));
  });

  it("Gemini 3: a replayed function call carries its thought signature (the client's, or the documented placeholder); 2.x gets none", () => {
    const call = (extra?: unknown) => ({
      role: 'assistant',
      tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' }, ...(extra ? { extra_content: extra } : {}) }],
    });
    const result = { role: 'tool', tool_call_id: 'c', content: 'ok' };
    const modelTurn = (model: string, extra?: unknown) => (toGeminiRequest(chat({ model, messages: [user, call(extra), result] })) as Body).contents[1]!.parts[0];
    expect(modelTurn('gemini-3-flash-preview')).toEqual({ functionCall: { name: 'f', args: {} }, thoughtSignature: SKIP_THOUGHT_SIGNATURE });
    expect(modelTurn('gemini-3-flash-preview', { google: { thought_signature: 'sig-1' } })).toEqual({ functionCall: { name: 'f', args: {} }, thoughtSignature: 'sig-1' });
    expect(modelTurn('gemini-2.5-flash')).toEqual({ functionCall: { name: 'f', args: {} } });
  });

  it('the path names the model, whole or streamed; a missing or odd model name is a 400', () => {
    expect(geminiPath('gemini-2.5-flash', false)).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(geminiPath('models/gemini-2.5-flash', true)).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(geminiPath('tunedModels/my-model-1', false)).toBe('/v1beta/tunedModels/my-model-1:generateContent');
    expect(() => geminiPath(undefined, false)).toThrowError(expect.objectContaining({ status: 400, param: 'model' }));
    expect(() => geminiPath('../../v1/files', false)).toThrowError(/not a Gemini model name/);
    expect(() => geminiPath('gemini-2.5-flash:countTokens?x=', false)).toThrowError(/not a Gemini model name/);
  });

  it('sends the key as x-goog-api-key', () => {
    expect(gemini.authHeaders('AIza-test')).toEqual({ 'x-goog-api-key': 'AIza-test' });
    expect(gemini.authHeaders(undefined)).toEqual({});
  });
});

describe('prefill', () => {
  const messages = [user, { role: 'assistant', content: 'The quick brown fox' }];

  it('is a trailing model turn, sent to the model path; nothing of the proxy reaches Gemini', () => {
    const request = chat({ model: 'gemini-2.5-flash', messages: [user, { role: 'assistant', content: 'The quick brown fox', prefix: true }], echo: true });
    const plan = planFor('gemini', request, { raw: empty });
    expect(plan.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect((plan.body as Body).contents).toEqual([
      { role: 'user', parts: [{ text: 'Finish the sentence.' }] },
      { role: 'model', parts: [{ text: 'The quick brown fox' }] },
    ]);
    expect(JSON.stringify(plan.body)).not.toMatch(/prefix|echo/);
    expect(plan.answer).toMatchObject({ kind: 'native', prefix: 'The quick brown fox', echo: true });
    expect(plan.answer.repeated).toBeUndefined();
    const streamedPlan = planFor('gemini', chat({ model: 'gemini-3-flash-preview', messages, stream: true }), { raw: empty });
    expect(streamedPlan.path).toBe('/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse');
  });

  it('two trailing assistant messages are one model turn', () => {
    const plan = planFor('gemini', chat({ model: 'gemini-2.5-flash', messages: [user, { role: 'assistant', content: 'First.' }, { role: 'assistant', content: ' Then' }] }), { raw: empty });
    expect((plan.body as Body).contents.at(-1)).toEqual({ role: 'model', parts: [{ text: 'First.' }, { text: ' Then' }] });
  });

  it('models documented to refuse a trailing model turn take the fallback; the others, and unknown names, prefill', () => {
    for (const model of ['gemini-3.5-flash-lite', 'gemini-3.6-flash', 'models/gemini-3.7-flash-preview', 'gemini-3.8-flash', 'gemini-4-pro']) {
      expect(refusesPrefill(model)).toBe(true);
    }
    for (const model of ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-3-pro-preview', 'gemini-3-flash-preview', 'gemini-3.1-pro-preview', 'gemini-3.1-flash-lite', 'gemini-3.5-flash', 'gemini-flash-latest', 'gemma-3-27b-it']) {
      expect(refusesPrefill(model)).toBe(false);
    }
    const plan = planFor('gemini', chat({ model: 'gemini-3.6-flash', messages }), { raw: empty });
    expect(plan.answer.kind).toBe('emulated');
    expect(plan.path).toBe('/v1beta/models/gemini-3.6-flash:generateContent');
    expect((plan.body as Body).contents.map((content) => content.role)).toEqual(['user', 'model', 'user']);
    expect(() => planFor('gemini', chat({ model: 'gemini-3.6-flash', messages }), { raw: empty, fallback: 'reject' })).toThrowError(/PREFILL_FALLBACK=reject/);
  });

  it('a reasoning prefix has no native form: the fallback applies', () => {
    const request = chat({ model: 'gemini-2.5-flash', messages: [user, { role: 'assistant', content: '', reasoning_content: 'The user wants' }] });
    expect(gemini.supportsPrefill(request)).toBe(false);
    expect(planFor('gemini', request, { raw: empty }).answer.kind).toBe('emulated');
  });

  it('the refusal 400 (either wording) switches to the fallback; other errors do not', () => {
    const refused = fixture('error-prefill-refused.json').toString('utf8');
    expect(gemini.recoverFromError?.(400, refused, {})).toEqual({ fallback: true });
    const long = JSON.stringify({ error: { code: 400, message: 'Requests ending with a model turn are not supported unless the last part is a function response.', status: 'INVALID_ARGUMENT' } });
    expect(gemini.recoverFromError?.(400, long, {})).toEqual({ fallback: true });
    expect(gemini.recoverFromError?.(400, fixture('error-unknown-field.json').toString('utf8'), {})).toBeUndefined();
    expect(gemini.recoverFromError?.(429, refused, {})).toBeUndefined();
  });
});

describe('thinking', () => {
  const config = (model: string, extra: Record<string, unknown>) => toGeminiRequest(chat({ model, messages: [user], ...extra })).generationConfig as Record<string, unknown> | undefined;

  it('reasoning_budget_tokens → thinkingBudget on 2.x, within what each model takes; 0 turns thinking off', () => {
    expect(gemini.nativeThinkingBudget).toBe(true);
    expect(config('gemini-2.5-flash', { reasoning_budget_tokens: 2000 })!.thinkingConfig).toEqual({ thinkingBudget: 2000, includeThoughts: true });
    expect(config('gemini-2.5-flash', { reasoning_budget_tokens: 100_000 })!.thinkingConfig).toEqual({ thinkingBudget: 24_576, includeThoughts: true });
    expect(config('gemini-2.5-flash', { reasoning_budget_tokens: 0 })!.thinkingConfig).toEqual({ thinkingBudget: 0 });
    expect(config('gemini-2.5-pro', { reasoning_budget_tokens: 0 })!.thinkingConfig).toEqual({ thinkingBudget: 128, includeThoughts: true });
    expect(config('gemini-2.5-flash-lite', { reasoning_budget_tokens: 100 })!.thinkingConfig).toEqual({ thinkingBudget: 512, includeThoughts: true });
    expect(config('gemini-flash-latest', { reasoning_budget_tokens: 3000 })!.thinkingConfig).toEqual({ thinkingBudget: 3000, includeThoughts: true });
  });

  it('reasoning_budget_tokens → thinkingLevel on 3.x: 0 minimal, ≤1024 low, ≤8192 medium, more high, then a level the model has', () => {
    const level = (model: string, budget: number) => (config(model, { reasoning_budget_tokens: budget })!.thinkingConfig as { thinkingLevel: string }).thinkingLevel;
    expect([0, 1, 1024, 1025, 8192, 8193].map((budget) => level('gemini-3-flash-preview', budget))).toEqual(['minimal', 'low', 'low', 'medium', 'medium', 'high']);
    // 3 Pro: low and high only; 3.1 Pro: no minimal.
    expect([0, 2000, 9000].map((budget) => levelForBudget('gemini-3-pro-preview', budget))).toEqual(['low', 'high', 'high']);
    expect([0, 2000, 9000].map((budget) => levelForBudget('gemini-3.1-pro-preview', budget))).toEqual(['low', 'medium', 'high']);
    expect(config('gemini-3.6-flash', { reasoning_budget_tokens: 500 })!.thinkingConfig).toEqual({ thinkingLevel: 'low', includeThoughts: true });
    expect(config('gemini-3.6-flash', { reasoning_budget_tokens: 0 })!.thinkingConfig).toEqual({ thinkingLevel: 'minimal' });
  });

  it("reasoning_effort and Gemini's own google.thinking_config are taken too; thoughts are asked for from thinking models", () => {
    expect(config('gemini-3-pro-preview', { reasoning_effort: 'medium' })!.thinkingConfig).toEqual({ thinkingLevel: 'high', includeThoughts: true });
    expect(config('gemini-2.5-flash', { reasoning_effort: 'low' })!.thinkingConfig).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    expect(config('gemini-2.5-flash', { google: { thinking_config: { thinking_budget: 77, include_thoughts: false } } })!.thinkingConfig).toEqual({
      thinkingBudget: 77,
      includeThoughts: false,
    });
    expect(config('gemini-3-flash-preview', {})!.thinkingConfig).toEqual({ includeThoughts: true });
    expect(config('gemini-2.5-flash-lite', {})).toBeUndefined();
    expect(config('gemma-3-27b-it', {})).toBeUndefined();
    expect(toGeminiRequest(chat({ model: 'gemini-2.5-flash', messages: [user], reasoning_budget_tokens: 5 }))).not.toHaveProperty('reasoning_budget_tokens');
  });
});

describe('Gemini → OpenAI answers', () => {
  const request = chat({ model: 'gemini-2.5-flash', messages: [user] });

  it('maps every finish reason', () => {
    const reasons = ['STOP', 'MAX_TOKENS', 'SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'LANGUAGE', 'IMAGE_SAFETY', 'OTHER', 'MALFORMED_FUNCTION_CALL', 'CONTINUATION', 'SOMETHING_NEW'];
    expect(reasons.map((reason) => finishReason(reason))).toEqual([
      'stop',
      'length',
      'content_filter',
      'content_filter',
      'content_filter',
      'content_filter',
      'content_filter',
      'content_filter',
      'content_filter',
      'stop',
      'stop',
      'length',
      'stop',
    ]);
    expect(finishReason('STOP', true)).toBe('tool_calls');
    expect(finishReason(undefined)).toBeNull();
  });

  it('usage: thoughts count as completion (and reasoning) tokens, the total is Gemini’s', () => {
    expect(toUsage({ promptTokenCount: 7, candidatesTokenCount: 51, thoughtsTokenCount: 45, totalTokenCount: 103, cachedContentTokenCount: 3 })).toEqual({
      prompt_tokens: 7,
      completion_tokens: 96,
      total_tokens: 103,
      prompt_tokens_details: { cached_tokens: 3 },
      completion_tokens_details: { reasoning_tokens: 45 },
    });
    expect(toUsage({ promptTokenCount: 4 })).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  });

  it('a whole answer: text, usage, identity', () => {
    const answer = geminiAnswers.whole(json('generate-content.json'), request);
    expect(answer).toMatchObject({
      id: 'Zm9vYmFyLXJlc3AtMDAx',
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, content: 'Paris is the capital of France.', finishReason: 'stop' }],
      usage: { prompt_tokens: 8, completion_tokens: 38, total_tokens: 46, completion_tokens_details: { reasoning_tokens: 31 } },
    });
    const completion = JSON.parse(encodeChatCompletion(answer));
    expect(completion).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'Paris is the capital of France.', refusal: null }, finish_reason: 'stop', logprobs: null }] });
  });

  it('thought parts are reasoning; a text part’s signature is dropped', () => {
    const answer = geminiAnswers.whole(json('generate-content-thoughts-gemini3.json'), request);
    expect(answer.choices[0]).toMatchObject({
      content: 'Paris is the capital of France.',
      reasoning: "**Recalling the capital**\n\nThe question is a simple fact: France's capital is Paris.",
      finishReason: 'stop',
    });
  });

  it('function calls are tool calls (named by the proxy when Gemini gives no id, signature kept), finish tool_calls', () => {
    const answer = geminiAnswers.whole(
      {
        candidates: [
          {
            content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } }, thoughtSignature: 'sig' }, { functionCall: { name: 'get_time', id: 'fc-2' } }] },
            finishReason: 'STOP',
          },
        ],
      },
      request,
    );
    const [first, second] = answer.choices[0]!.toolCalls!;
    expect(first).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' }, extra_content: { google: { thought_signature: 'sig' } } });
    expect(first!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(second).toEqual({ id: 'fc-2', type: 'function', function: { name: 'get_time', arguments: '{}' } });
    expect(answer.choices[0]).toMatchObject({ content: null, finishReason: 'tool_calls' });
  });

  it('a blocked prompt (no candidates) is a content_filter finish; several candidates are several choices; other bodies throw', () => {
    const blocked = geminiAnswers.whole({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } }, request);
    expect(blocked.choices).toEqual([{ index: 0, content: '', finishReason: 'content_filter' }]);
    const two = geminiAnswers.whole(
      {
        candidates: [
          { content: { parts: [{ text: 'A' }], role: 'model' }, finishReason: 'STOP', index: 0 },
          { content: { role: 'model' }, finishReason: 'MAX_TOKENS', index: 1 },
        ],
      },
      request,
    );
    expect(two.choices.map((choice) => [choice.index, choice.content, choice.finishReason])).toEqual([
      [0, 'A', 'stop'],
      [1, '', 'length'],
    ]);
    expect(() => geminiAnswers.whole({ choices: [] }, request)).toThrowError(/not a Gemini/);
    expect(() => geminiAnswers.whole([{ candidates: [] }], request)).toThrowError(/not a Gemini/);
  });

  /** The decoder's events for `bytes` written in pieces of `size`. */
  function decode(bytes: Buffer, size: number, req = request): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    const decoder = geminiAnswers.stream(req, (event) => events.push(event), { maxEventBytes: 1 << 20 });
    for (let i = 0; i < bytes.length; i += size) decoder.write(bytes.subarray(i, i + size));
    decoder.end();
    return events.map((event) => (event.type === 'start' ? { ...event, identity: { ...event.identity, created: 0 } } : event));
  }

  const STREAMS = ['stream-text.sse', 'stream-prefill-continuation.sse', 'stream-max-tokens.sse', 'stream-thinking-gemini3.sse', 'stream-function-call.sse', 'stream-error-midstream.sse'];

  it('every recorded stream decodes the same at every cut size (a byte at a time up to whole)', () => {
    for (const name of STREAMS) {
      const bytes = fixture(name);
      const whole = decode(bytes, bytes.length);
      for (let size = 1; size < bytes.length; size++) {
        const events = decode(bytes, size);
        // Tool call ids are made up per answer.
        expect(JSON.stringify(events).replace(/call_[0-9a-f]{24}/g, 'call_x'), `${name} cut every ${size} bytes`).toBe(JSON.stringify(whole).replace(/call_[0-9a-f]{24}/g, 'call_x'));
      }
    }
  });

  it('a stream: start, role, deltas; the finishing event gives finish, usage and done', () => {
    const events = decode(fixture('stream-text.sse'), 7);
    expect(events).toEqual([
      { type: 'start', identity: { id: 'c3RyZWFtLXJlc3AtMDAx', model: 'gemini-2.5-flash', created: 0 } },
      { type: 'delta', index: 0, role: true, content: '' },
      { type: 'delta', index: 0, content: 'Paris is' },
      { type: 'delta', index: 0, content: ' the capital' },
      { type: 'delta', index: 0, content: ' of France.' },
      { type: 'finish', index: 0, reason: 'stop' },
      { type: 'usage', usage: { prompt_tokens: 8, completion_tokens: 38, total_tokens: 46, completion_tokens_details: { reasoning_tokens: 31 } } },
      { type: 'done' },
    ]);
    expect(geminiAnswers.endsWithTerminator(fixture('stream-text.sse'))).toBe(true);
    const text = fixture('stream-text.sse').toString('utf8');
    expect(geminiAnswers.endsWithTerminator(Buffer.from(text.slice(0, text.lastIndexOf('data:'))))).toBe(false);
  });

  it('thoughts stream as reasoning; a function call as one whole tool-call delta; MAX_TOKENS is length', () => {
    const thinking = decode(fixture('stream-thinking-gemini3.sse'), 5);
    expect(thinking.filter((event) => event.type === 'delta' && event.reasoning).map((event) => (event as { reasoning: string }).reasoning).join('')).toBe(
      "**Recalling the capital**\n\nFrance's capital is Paris.",
    );
    expect(thinking.filter((event) => event.type === 'delta' && event.content).map((event) => (event as { content: string }).content).join('')).toBe('Paris is the capital of France.');
    expect(thinking.at(-1)).toEqual({ type: 'done' });
    const call = decode(fixture('stream-function-call.sse'), 9);
    const delta = call.find((event) => event.type === 'delta' && event.toolCalls) as unknown as { toolCalls: Array<Record<string, unknown>> };
    expect(delta.toolCalls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' }, extra_content: { google: { thought_signature: expect.any(String) } } });
    expect(call).toContainEqual({ type: 'finish', index: 0, reason: 'tool_calls' });
    expect(decode(fixture('stream-max-tokens.sse'), 3)).toContainEqual({ type: 'finish', index: 0, reason: 'length' });
  });

  it('an error event mid-stream is an error with its status and Google’s code; a stream cut before its finish is truncated', () => {
    const failed = decode(fixture('stream-error-midstream.sse'), 11);
    expect(failed.at(-1)).toEqual({
      type: 'error',
      error: { status: 503, message: 'The model is overloaded. Please try again later.', type: 'server_error', code: 'UNAVAILABLE', param: null },
    });
    const text = fixture('stream-text.sse').toString('utf8');
    const cut = decode(Buffer.from(text.slice(0, text.lastIndexOf('data:'))), 13);
    expect(cut.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_stream_truncated' } });
    expect(cut.some((event) => event.type === 'done')).toBe(false);
    expect(decode(Buffer.from('data: {"choices":[]}\r\n\r\n'), 4).at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_invalid_response' } });
  });

  it('several candidates: the answer ends when each has finished', () => {
    const chunk = (candidates: unknown[]) => `data: ${JSON.stringify({ candidates, responseId: 'r', modelVersion: 'gemini-2.5-flash' })}\r\n\r\n`;
    const bytes = Buffer.from(
      chunk([{ content: { parts: [{ text: 'A' }] }, index: 0, finishReason: 'STOP' }]) + chunk([{ content: { parts: [{ text: 'B' }] }, index: 1, finishReason: 'STOP' }]),
    );
    const events = decode(bytes, 10, chat({ model: 'gemini-2.5-flash', n: 2, messages: [user] }));
    expect(events.filter((event) => event.type === 'finish')).toEqual([
      { type: 'finish', index: 0, reason: 'stop' },
      { type: 'finish', index: 1, reason: 'stop' },
    ]);
    expect(events.at(-1)).toEqual({ type: 'done' });
  });

  it('through the pipeline: a streamed prefill continuation, with and without echo, at several cut sizes', async () => {
    const plan: AnswerPlan = { kind: 'native', prefix: 'The quick brown fox', echo: false };
    const streamRequest = chat({ model: 'gemini-2.5-flash', messages: [user], stream: true, stream_options: { include_usage: true } });
    for (const pieceSize of [1, 7, 64, 4096]) {
      const result = await streamThrough('gemini', plan, fixture('stream-prefill-continuation.sse'), { pieceSize, request: streamRequest });
      expect(result.content).toBe(' jumped over the lazy dog.');
      expect(result.done).toBe(true);
      expect(result.finishReasons).toEqual(['stop']);
      expect(result.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 17, total_tokens: 28 });
    }
    const echoed = await streamThrough('gemini', { ...plan, echo: true }, fixture('stream-prefill-continuation.sse'), { pieceSize: 5, request: streamRequest });
    expect(echoed.content).toBe('The quick brown fox jumped over the lazy dog.');
  });
});

describe('errors and configuration', () => {
  it("Gemini's error bodies keep their status and message; the code is Google's status name", () => {
    const invalidKey = upstreamHttpError(400, fixture('error-api-key-invalid.json').toString('utf8'));
    expect(invalidKey.toJSON()).toEqual({ error: { message: 'API key not valid. Please pass a valid API key.', type: 'invalid_request_error', param: null, code: 'INVALID_ARGUMENT' } });
    expect(invalidKey.status).toBe(400);
    const notFound = upstreamHttpError(404, fixture('error-model-not-found.json').toString('utf8'));
    expect(notFound).toMatchObject({ status: 404, type: 'not_found_error', code: 'NOT_FOUND' });
    expect(upstreamHttpError(429, fixture('error-rate-limited.json').toString('utf8'))).toMatchObject({ status: 429, code: 'RESOURCE_EXHAUSTED' });
  });

  it('with UPSTREAM_PROVIDER=gemini and no URL, the public endpoint; its host is inferred; a /v1beta URL works', () => {
    expect(loadConfig({ UPSTREAM_PROVIDER: 'gemini' }).upstream).toMatchObject({ provider: 'gemini', origin: 'https://generativelanguage.googleapis.com', basePath: '' });
    expect(loadConfig({ UPSTREAM_URL: 'https://generativelanguage.googleapis.com' }).upstream).toMatchObject({ provider: 'gemini', providerSource: 'inferred', basePath: '' });
    expect(loadConfig({ UPSTREAM_URL: 'https://generativelanguage.googleapis.com/v1beta/' }).upstream).toMatchObject({ provider: 'gemini', basePath: '' });
    expect(loadConfig({ UPSTREAM_URL: 'https://gw.example.com/google/v1beta', UPSTREAM_PROVIDER: 'gemini' }).upstream).toMatchObject({ basePath: '/google' });
  });

  it('a URL ending in /v1beta/openai is the OpenAI-compatible endpoint, not the native dialect', () => {
    expect(loadConfig({ UPSTREAM_URL: 'https://generativelanguage.googleapis.com/v1beta/openai/' }).upstream.provider).toBe('openai-compatible');
    expect(loadConfig({ UPSTREAM_URL: 'https://generativelanguage.googleapis.com/v1beta/openai' }).upstream.provider).toBe('openai-compatible');
  });

  it('a config file upstream with provider gemini needs no url', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-gemini-'));
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'upstreams:\n  google:\n    provider: gemini\n    api_key: ${GEMINI_API_KEY}\n');
    const config = loadConfig({ CONFIG_FILE: path, GEMINI_API_KEY: 'AIza-test' });
    expect(config.routing.upstreams[0]).toMatchObject({ provider: 'gemini', origin: 'https://generativelanguage.googleapis.com', basePath: '', apiKey: 'AIza-test' });
  });
});

describe("Gemini's model list as OpenAI's", () => {
  it('keeps the models that generate content, by bare id; anything else in the answer is no model', async () => {
    const { geminiModelsAsOpenAI } = await import('../../../src/providers/gemini/models.js');
    const answer = {
      models: [
        { name: 'models/gemini-2.5-flash', supportedGenerationMethods: ['generateContent', 'countTokens'] },
        { name: 'models/gemini-embedding-001', supportedGenerationMethods: ['embedContent'] },
        { name: 'models/gemini-3-pro-preview' },
        { displayName: 'no name' },
      ],
      nextPageToken: 'x',
    };
    expect(geminiModelsAsOpenAI(answer).map((model) => model.id)).toEqual(['gemini-2.5-flash', 'gemini-3-pro-preview']);
    expect(geminiModelsAsOpenAI({ error: 'x' })).toEqual([]);
    expect(geminiModelsAsOpenAI(undefined)).toEqual([]);
  });
});
