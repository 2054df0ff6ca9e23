import { ApiError, GoogleGenAI, Type, type Content, type GenerateContentResponse, type Tool } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockServer } from './server.js';
import {
  DEFAULT_CONTINUATION,
  DEFAULT_GEMINI_KEY,
  DEFAULT_REPLY,
  PREFILL_REFUSAL,
  SKIP_SIGNATURE,
  THOUGHT_SIGNATURE,
  startGeminiMock,
  type GeminiMock,
} from './gemini.js';

// The mock proven with the official Google Gen AI SDK pointed at it (httpOptions.baseUrl; the SDK adds /v1beta).

const WEATHER_TOOL: Tool = {
  functionDeclarations: [
    {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: Type.OBJECT, properties: { location: { type: Type.STRING } }, required: ['location'] },
    },
  ],
};
const PREFILL: Content[] = [
  { role: 'user', parts: [{ text: 'Finish the sentence: the quick brown fox' }] },
  { role: 'model', parts: [{ text: 'The quick brown fox' }] },
];

let mock: GeminiMock;
let ai: GoogleGenAI;

beforeAll(async () => {
  mock = await startGeminiMock();
  ai = client(mock);
});
afterAll(() => mock.close());

function client(server: MockServer, apiKey = DEFAULT_GEMINI_KEY): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: server.url } });
}

async function apiError(promise: Promise<unknown>): Promise<{ status: number; error: { code: number; message: string; status: string; details?: unknown[] } }> {
  const err = await promise.then(
    () => {
      throw new Error('expected an ApiError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const { status, message } = err as ApiError;
  return { status, error: (JSON.parse(message) as { error: { code: number; message: string; status: string } }).error };
}

async function collect(stream: AsyncGenerator<GenerateContentResponse>): Promise<GenerateContentResponse[]> {
  const chunks: GenerateContentResponse[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('generateContent', () => {
  it('answers a plain request with the fixed reply, as the SDK sends it', async () => {
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say something.' });
    expect(response.text).toBe(DEFAULT_REPLY);
    expect(response.candidates?.[0]?.finishReason).toBe('STOP');
    expect(response.candidates?.[0]?.content?.role).toBe('model');
    expect(response.modelVersion).toBe('gemini-2.5-flash');
    expect(response.responseId).toBeTruthy();
    // 2.5 Flash thinks by default: thought tokens are reported even without includeThoughts.
    const usage = response.usageMetadata!;
    expect(usage.promptTokenCount).toBe(2);
    expect(usage.candidatesTokenCount).toBe(9);
    expect(usage.thoughtsTokenCount).toBeGreaterThan(0);
    expect(usage.totalTokenCount).toBe(2 + 9 + usage.thoughtsTokenCount!);
    const request = mock.requests.at(-1)!;
    expect(request.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(request.headers['x-goog-api-key']).toBe(DEFAULT_GEMINI_KEY);
    expect(request.json).toEqual({ contents: [{ parts: [{ text: 'Say something.' }], role: 'user' }] });
  });

  it('takes a systemInstruction (sent at the top level, counted in the prompt)', async () => {
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-pro',
      contents: 'Hello there',
      config: { systemInstruction: 'You are a terse pirate.' },
    });
    expect(response.text).toBe(DEFAULT_REPLY);
    expect(mock.requests.at(-1)!.json?.systemInstruction).toEqual({ parts: [{ text: 'You are a terse pirate.' }], role: 'user' });
    expect(response.usageMetadata?.promptTokenCount).toBe(2 + 5);
  });

  it('continues a trailing model turn on gemini-2.5-flash and returns only the continuation', async () => {
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: PREFILL });
    expect(response.text).toBe(DEFAULT_CONTINUATION);
    expect(response.text?.startsWith('The quick')).toBe(false);
    expect(response.candidates?.[0]?.finishReason).toBe('STOP');
  });

  it('continues it on the Gemini 3 models that still accept prefill (3 Pro, 3.1 Pro, 3 Flash)', async () => {
    for (const model of ['gemini-3-pro-preview', 'gemini-3.1-pro-preview', 'gemini-3-flash-preview']) {
      const response = await ai.models.generateContent({ model, contents: PREFILL });
      expect(response.text).toBe(DEFAULT_CONTINUATION);
    }
  });

  it('refuses a trailing model turn on gemini-3.6-flash with 400 INVALID_ARGUMENT', async () => {
    for (const model of ['gemini-3.6-flash', 'gemini-3.5-flash-lite']) {
      const { status, error } = await apiError(ai.models.generateContent({ model, contents: PREFILL }));
      expect(status).toBe(400);
      expect(error).toEqual({ code: 400, message: PREFILL_REFUSAL, status: 'INVALID_ARGUMENT' });
    }
    const stream = await apiError(ai.models.generateContentStream({ model: 'gemini-3.6-flash', contents: PREFILL }));
    expect(stream.status).toBe(400);
    expect(stream.error.message).toBe(PREFILL_REFUSAL);
  });

  it('can make every Gemini 3 model refuse prefill, with either wording', async () => {
    const strict = await startGeminiMock({ noPrefillModels: /^gemini-3/, prefillRefusalMessage: 'Requests ending with a model turn are not supported unless the last part is a function response.' });
    try {
      const { status, error } = await apiError(client(strict).models.generateContent({ model: 'gemini-3-pro-preview', contents: PREFILL }));
      expect(status).toBe(400);
      expect(error.message).toMatch(/^Requests ending with a model turn are not supported unless the last part is a function response\.$/);
      const response = await client(strict).models.generateContent({ model: 'gemini-2.5-pro', contents: PREFILL });
      expect(response.text).toBe(DEFAULT_CONTINUATION);
    } finally {
      await strict.close();
    }
  });

  it('caps the answer at maxOutputTokens (thought tokens count too) with MAX_TOKENS', async () => {
    const capped = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Say something.',
      config: { maxOutputTokens: 3, thinkingConfig: { thinkingBudget: 0 } },
    });
    expect(capped.text).toBe('The quick brown');
    expect(capped.candidates?.[0]?.finishReason).toBe('MAX_TOKENS');
    expect(capped.usageMetadata?.thoughtsTokenCount).toBeUndefined();
    // With thinking on, a small allowance is eaten by the thoughts: no parts at all.
    const starved = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say something.', config: { maxOutputTokens: 5 } });
    expect(starved.candidates?.[0]?.content).toEqual({ role: 'model' });
    expect(starved.candidates?.[0]?.finishReason).toBe('MAX_TOKENS');
    expect(starved.usageMetadata?.thoughtsTokenCount).toBe(5);
  });

  it('rejects what the real API rejects', async () => {
    expect((await apiError(ai.models.generateContent({ model: 'gemini-9-ultra', contents: 'hi' }))).error).toMatchObject({
      code: 404,
      status: 'NOT_FOUND',
      message: expect.stringMatching(/^models\/gemini-9-ultra is not found for API version v1beta, or is not supported for generateContent\./),
    });
    const badRole = await apiError(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [{ role: 'assistant', parts: [{ text: 'hi' }] }] }));
    expect(badRole.error.message).toBe('Please use a valid role: user, model.');
    // The SDK refuses empty contents itself, so this one goes over the wire by hand.
    const noContents = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': DEFAULT_GEMINI_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ generationConfig: { temperature: 0 } }),
    });
    expect(noContents.status).toBe(400);
    expect(await noContents.json()).toEqual({ error: { code: 400, message: '* GenerateContentRequest.contents: contents is not specified\n', status: 'INVALID_ARGUMENT' } });
  });
});

describe('generateContentStream', () => {
  it('streams one word per chunk; the chunks concatenate to the answer and only the last has finishReason', async () => {
    const chunks = await collect(await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say something.' }));
    expect(chunks.length).toBe(9);
    expect(chunks.map((c) => c.text).join('')).toBe(DEFAULT_REPLY);
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.slice(0, -1).every((c) => c.candidates?.[0]?.finishReason === undefined)).toBe(true);
    expect(chunks.every((c) => c.usageMetadata?.promptTokenCount === 2 && c.modelVersion === 'gemini-2.5-flash')).toBe(true);
    expect(chunks.map((c) => c.usageMetadata?.candidatesTokenCount)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('streams a prefill continuation without the prefix', async () => {
    const chunks = await collect(await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: PREFILL }));
    expect(chunks.map((c) => c.text).join('')).toBe(DEFAULT_CONTINUATION);
  });

  it('frames events as `data: <json>\\r\\n\\r\\n` with no [DONE]', async () => {
    const res = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': DEFAULT_GEMINI_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const raw = await res.text();
    const events = raw.split('\r\n\r\n');
    expect(events.pop()).toBe('');
    expect(events).toHaveLength(9);
    expect(events.every((e) => e.startsWith('data: {') && !e.includes('\n'))).toBe(true);
    expect(raw).not.toContain('[DONE]');
  });

  it('answers one JSON array when alt=sse is missing', async () => {
    const res = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=${DEFAULT_GEMINI_KEY}`, {
      method: 'POST',
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    const chunks = (await res.json()) as unknown[];
    expect(Array.isArray(chunks) && chunks.length).toBe(9);
  });

  it('can fail mid-stream with an in-stream error object, which the SDK raises', async () => {
    const flaky = await startGeminiMock({ failAfterChunks: 2 });
    try {
      const texts: string[] = [];
      const err = await (async () => {
        for await (const chunk of await client(flaky).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' })) texts.push(chunk.text ?? '');
      })().catch((e: unknown) => e);
      expect(texts).toEqual(['The', ' quick']);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(503);
    } finally {
      await flaky.close();
    }
  });
});

describe('thinking', () => {
  it('returns thought parts first with includeThoughts on 2.5, capped by thinkingBudget', async () => {
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Say something.',
      config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 4 } },
    });
    const parts = response.candidates![0]!.content!.parts!;
    expect(parts[0]).toEqual({ text: '**Answering briefly** The user', thought: true });
    expect(response.text).toBe(DEFAULT_REPLY);
    expect(response.usageMetadata?.thoughtsTokenCount).toBe(4);
  });

  it('mirrors the documented thinkingBudget / thinkingLevel rules', async () => {
    const off = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 0 } } });
    expect(off.candidates![0]!.content!.parts!.some((p) => p.thought)).toBe(false);
    expect(off.usageMetadata?.thoughtsTokenCount).toBeUndefined();
    const pro = await apiError(ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi', config: { thinkingConfig: { thinkingBudget: 0 } } }));
    expect(pro.error.message).toBe('Budget 0 is invalid. This model only works in thinking mode.');
    const level = await apiError(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { thinkingConfig: { thinkingLevel: 'LOW' as never } } }));
    expect(level.error.message).toBe('Thinking level is not supported for this model.');
    const both = await apiError(
      ai.models.generateContent({ model: 'gemini-3-flash-preview', contents: 'hi', config: { thinkingConfig: { thinkingLevel: 'LOW' as never, thinkingBudget: 128 } } }),
    );
    expect(both.error.message).toBe('You can only set only one of thinking budget and thinking level.');
    const minimalOnPro = await apiError(ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: 'hi', config: { thinkingConfig: { thinkingLevel: 'MINIMAL' as never } } }));
    expect(minimalOnPro.error.message).toBe('Thinking level MINIMAL is not supported for this model. Please retry with other thinking level.');
  });

  it('streams Gemini 3 thoughts, then the answer, then a signed empty part with finishReason', async () => {
    const chunks = await collect(
      await ai.models.generateContentStream({
        model: 'gemini-3-pro-preview',
        contents: 'Say something.',
        config: { thinkingConfig: { includeThoughts: true, thinkingLevel: 'high' as never } },
      }),
    );
    expect(chunks[0]!.candidates![0]!.content!.parts![0]!.thought).toBe(true);
    expect(chunks.map((c) => c.text ?? '').join('')).toBe(DEFAULT_REPLY);
    const last = chunks.at(-1)!.candidates![0]!;
    expect(last.finishReason).toBe('STOP');
    expect(last.content?.parts).toEqual([{ text: '', thoughtSignature: THOUGHT_SIGNATURE }]);
    const minimal = await ai.models.generateContent({ model: 'gemini-3-flash-preview', contents: 'hi', config: { thinkingConfig: { thinkingLevel: 'minimal' as never } } });
    expect(minimal.usageMetadata?.thoughtsTokenCount).toBeUndefined();
  });
});

describe('countTokens and models', () => {
  it('counts tokens (words here) of the contents', async () => {
    const response = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'The quick brown fox jumps over the lazy dog.' });
    expect(response.totalTokens).toBe(9);
    expect(mock.requests.at(-1)!.url).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
  });

  it('lists and gets models', async () => {
    const names: string[] = [];
    for await (const model of await ai.models.list({ config: { pageSize: 4 } })) names.push(model.name!);
    expect(names).toContain('models/gemini-2.5-flash');
    expect(names).toContain('models/gemini-3.6-flash');
    expect(mock.requests.filter((r) => r.url.startsWith('/v1beta/models?')).length).toBeGreaterThan(1);
    const model = await ai.models.get({ model: 'gemini-2.5-pro' });
    expect(model.name).toBe('models/gemini-2.5-pro');
    expect(model.outputTokenLimit).toBe(65_536);
  });
});

describe('keys', () => {
  it('answers a wrong key with 400 API_KEY_INVALID', async () => {
    const { status, error } = await apiError(client(mock, 'wrong-key').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    expect(status).toBe(400);
    expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
    expect(error.details).toContainEqual(expect.objectContaining({ reason: 'API_KEY_INVALID', domain: 'googleapis.com' }));
  });

  it('answers a missing key with 403 PERMISSION_DENIED and takes ?key=', async () => {
    const body = JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] });
    const none = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: 'POST', body });
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
    const query = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent?key=${DEFAULT_GEMINI_KEY}`, { method: 'POST', body });
    expect(query.status).toBe(200);
  });

  it('takes its key and a forced failure from options', async () => {
    const custom = await startGeminiMock({ apiKey: 'AIza-other', failWith: { status: 429, body: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } } } });
    try {
      const { status, error } = await apiError(client(custom, 'AIza-other').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
      expect(status).toBe(429);
      expect(error.status).toBe('RESOURCE_EXHAUSTED');
    } finally {
      await custom.close();
    }
  });
});

describe('function calling', () => {
  it('calls the weather tool, then answers its function response', async () => {
    const question: Content = { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] };
    const first = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [question], config: { tools: [WEATHER_TOOL] } });
    expect(first.functionCalls).toEqual([{ name: 'get_weather', args: { location: 'Paris' } }]);
    expect(first.candidates?.[0]?.finishReason).toBe('STOP');
    const call = first.candidates![0]!.content!;
    const second = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [question, call, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { forecast: 'sunny' } } }] }],
      config: { tools: [WEATHER_TOOL] },
    });
    expect(second.text).toBe('The get_weather tool returned {"forecast":"sunny"}.');
    const plain = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Tell me a joke', config: { tools: [WEATHER_TOOL] } });
    expect(plain.text).toBe(DEFAULT_REPLY);
  });

  it('signs Gemini 3 function calls and wants the signature back', async () => {
    const question: Content = { role: 'user', parts: [{ text: 'Weather in Paris?' }] };
    const stream = await collect(await ai.models.generateContentStream({ model: 'gemini-3.1-pro-preview', contents: [question], config: { tools: [WEATHER_TOOL] } }));
    expect(stream).toHaveLength(1);
    const part = stream[0]!.candidates![0]!.content!.parts![0]!;
    expect(part).toEqual({ functionCall: { name: 'get_weather', args: { location: 'Paris' } }, thoughtSignature: THOUGHT_SIGNATURE });
    const answer = { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { forecast: 'rain' } } }] };
    const unsigned = { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }] };
    const missing = await apiError(ai.models.generateContent({ model: 'gemini-3.1-pro-preview', contents: [question, unsigned, answer], config: { tools: [WEATHER_TOOL] } }));
    expect(missing.error.message).toMatch(/^Function call is missing a thought_signature in functionCall parts\./);
    for (const thoughtSignature of [THOUGHT_SIGNATURE, SKIP_SIGNATURE]) {
      const signed = { role: 'model', parts: [{ ...unsigned.parts[0], thoughtSignature }] };
      const ok = await ai.models.generateContent({ model: 'gemini-3.1-pro-preview', contents: [question, signed, answer], config: { tools: [WEATHER_TOOL] } });
      expect(ok.text).toBe('The get_weather tool returned {"forecast":"rain"}.');
    }
  });
});

describe('wire-level strictness', () => {
  it('rejects unknown fields such as an OpenAI-style `prefix` on a part', async () => {
    const res = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': DEFAULT_GEMINI_KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'Hel', prefix: true }] }] }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string; status: string } };
    expect(error.status).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(`Invalid JSON payload received. Unknown name "prefix" at 'contents[1].parts[0]': Cannot find field.`);
    expect(mock.counts.errors).toBeGreaterThan(0);
    expect(mock.counts.generateContent).toBeGreaterThan(0);
  });
});
