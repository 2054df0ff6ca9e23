import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../../src/errors.js';
import { CONTINUE_INSTRUCTION } from '../../../src/prefill/emulate.js';
import { providerFor, type ProviderId } from '../../../src/providers/index.js';
import { chat, planFor } from '../../helpers/pipeline.js';

const request = (messages: unknown[], extra: Record<string, unknown> = {}) => chat({ model: 'm', messages, temperature: 0, seed: 7, ...extra });
const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const partial = { role: 'assistant', content: [{ type: 'text', text: 'The capital ' }, { type: 'text', text: 'is' }], prefix: true };
const plan = (id: ProviderId, body: ReturnType<typeof request>, fallback: 'emulate' | 'reject' = 'emulate') =>
  planFor(id, body, { fallback, raw: Buffer.from('raw') });

describe('openai and openai-compatible', () => {
  it('have no native prefill at all', () => {
    for (const id of ['openai', 'openai-compatible'] as const) {
      expect(providerFor(id).prefillRequest).toBeUndefined();
      expect(providerFor(id).nativeForm).toBe('none');
    }
  });

  it('openai: emulates by asking to continue, and strips a repeat of the prefix', () => {
    const { body, answer } = plan('openai', request([...base, partial]));
    expect((body as { messages: unknown[] }).messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'The capital is' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
    expect(answer).toMatchObject({ kind: 'emulated', repeated: { text: 'The capital is', skipLeadingWhitespace: true } });
  });

  it('openai-compatible with PREFILL_FALLBACK=reject: a 400 that says why', () => {
    expect(() => plan('openai-compatible', request([...base, partial]), 'reject')).toThrowError(ProxyError);
    try {
      plan('openai-compatible', request([...base, partial]), 'reject');
      expect.unreachable();
    } catch (err) {
      expect((err as ProxyError).status).toBe(400);
      expect((err as ProxyError).code).toBe('prefill_not_supported');
    }
  });

  it('a request that is not a prefill loses the proxy-only fields (OpenAI rejects unknown fields); without any, the raw bytes go', () => {
    const notPrefill = request([...base, { role: 'assistant', content: 'Done.', prefix: false }], { echo: true });
    const strict = plan('openai', notPrefill).body as { messages: Array<Record<string, unknown>> };
    expect(strict).not.toHaveProperty('echo');
    expect(strict.messages.at(-1)).toEqual({ role: 'assistant', content: 'Done.' });
    expect(plan('openai', request(base)).body).toEqual(Buffer.from('raw'));
  });
});
