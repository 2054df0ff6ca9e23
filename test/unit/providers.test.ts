import { describe, expect, it } from 'vitest';
import { planChatCall } from '../../src/chat/plan.js';
import { DEFAULT_THINK_TAGS } from '../../src/prefill/reasoning.js';

const settings = (fallback: 'emulate' | 'reject') => ({ fallback, thinkTags: DEFAULT_THINK_TAGS });
import { ChatRequest } from '../../src/chat/schema.js';
import { ProxyError } from '../../src/errors.js';
import { detectPrefill } from '../../src/prefill/detect.js';
import { CONTINUE_INSTRUCTION } from '../../src/prefill/emulate.js';
import { providerFor, type ProviderId } from '../../src/providers/index.js';

const chat = (messages: unknown[], extra: Record<string, unknown> = {}) =>
  ChatRequest.parse({ model: 'm', messages, temperature: 0, seed: 7, ...extra });
const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const partial = { role: 'assistant', content: [{ type: 'text', text: 'The capital ' }, { type: 'text', text: 'is' }], prefix: true };

function plan(provider: ProviderId, request: ReturnType<typeof chat>, fallback: 'emulate' | 'reject' = 'emulate') {
  return planChatCall(providerFor(provider), settings(fallback), request, detectPrefill(request, 'auto'), Buffer.from('raw'));
}

describe('provider conversions', () => {
  it('llamacpp: plain string content, continue_final_message + add_generation_prompt=false, no proxy fields', () => {
    const { body, response } = plan('llamacpp', chat([...base, partial], { echo: true }));
    expect(body).toEqual({
      model: 'm',
      temperature: 0,
      seed: 7,
      messages: [...base, { role: 'assistant', content: 'The capital is' }],
      continue_final_message: true,
      add_generation_prompt: false,
    });
    expect(response).toEqual({ kind: 'native', manyChoices: false, prefix: 'The capital is', echo: true, repeated: { text: 'The capital is', skipLeadingWhitespace: false }, reasoningPrefix: undefined, thinkingInContent: undefined });
  });

  it('llamacpp: merges an assistant turn before the prefill (llama.cpp refuses two) and strips what it sees', () => {
    const { body, response } = plan('llamacpp', chat([...base, { role: 'assistant', content: 'Let me see.' }, { role: 'assistant', content: 'It is' }]));
    expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Let me see.\n\nIt is' });
    expect((body as { messages: unknown[] }).messages).toHaveLength(3);
    expect(response.repeated?.text).toBe('Let me see.\n\nIt is');
    expect(response.prefix).toBe('It is');
  });

  it('llamacpp: retries once with thinking off after the old-build thinking refusal, and only then', () => {
    const llamacpp = providerFor('llamacpp');
    const body = { messages: [], chat_template_kwargs: { foo: 1 } };
    const retry = llamacpp.recoverFromError?.(400, '{"error":{"message":"Assistant response prefill is incompatible with enable_thinking."}}', body);
    expect(retry).toEqual({ retryBody: { messages: [], chat_template_kwargs: { foo: 1, enable_thinking: false } } });
    expect(llamacpp.recoverFromError?.(400, 'incompatible with enable_thinking', (retry as { retryBody: Record<string, unknown> }).retryBody)).toBeUndefined();
    expect(llamacpp.recoverFromError?.(400, 'some other error', body)).toBeUndefined();
    expect(llamacpp.recoverFromError?.(500, 'incompatible with enable_thinking', body)).toBeUndefined();
  });

  for (const id of ['vllm', 'sglang', 'tgi', 'tabbyapi'] as const) {
    it(`${id}: continue_final_message + add_generation_prompt=false, the answer passes untouched`, () => {
      const { body, response } = plan(id, chat([...base, partial], { continue_final_message: true }));
      expect(body).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
      expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'The capital is' });
      expect(response.repeated).toBeUndefined();
    });
  }

  it('ollama: a plain trailing assistant message, without proxy flags', () => {
    const { body } = plan('ollama', chat([...base, partial], { echo: false }));
    expect(body).toEqual({ model: 'm', temperature: 0, seed: 7, messages: [...base, { role: 'assistant', content: 'The capital is' }] });
  });

  it('mock: prefix: true on the last message', () => {
    const { body } = plan('mock', chat([...base, { role: 'assistant', content: 'Once' }]));
    expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Once', prefix: true });
  });

  it('openai: emulates by asking to continue, and strips a repeat of the prefix', () => {
    const { body, response } = plan('openai', chat([...base, partial]));
    expect((body as { messages: unknown[] }).messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'The capital is' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
    expect(response).toMatchObject({ kind: 'emulated', repeated: { text: 'The capital is', skipLeadingWhitespace: true } });
  });

  it('openai-compatible with PREFILL_FALLBACK=reject: a 400 that says why', () => {
    expect(() => plan('openai-compatible', chat([...base, partial]), 'reject')).toThrowError(ProxyError);
    try {
      plan('openai-compatible', chat([...base, partial]), 'reject');
    } catch (err) {
      expect((err as ProxyError).status).toBe(400);
      expect((err as ProxyError).code).toBe('prefill_not_supported');
    }
  });

  it('a request that is not a prefill is forwarded as the raw bytes the client sent', () => {
    const { body, response } = plan('llamacpp', chat(base));
    expect(body).toEqual(Buffer.from('raw'));
    expect(response.kind).toBe('none');
  });

  it('a request that is not a prefill loses the proxy-only fields only for upstreams that reject unknown fields', () => {
    const request = chat([...base, { role: 'assistant', content: 'Done.', prefix: false }], { echo: true });
    const strict = plan('openai', request).body as { messages: Array<Record<string, unknown>> };
    expect(strict).not.toHaveProperty('echo');
    expect(strict.messages.at(-1)).toEqual({ role: 'assistant', content: 'Done.' });
    expect(plan('vllm', request).body).toEqual(Buffer.from('raw'));
    expect(plan('openai', chat(base)).body).toEqual(Buffer.from('raw'));
  });

  it('bearer auth for OpenAI-style upstreams, nothing without a key', () => {
    expect(providerFor('vllm').authHeaders('sk-up')).toEqual({ authorization: 'Bearer sk-up' });
    expect(providerFor('llamacpp').authHeaders(undefined)).toEqual({});
  });
});
