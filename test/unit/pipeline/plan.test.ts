import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../../src/errors.js';
import { planFallback } from '../../../src/pipeline/plan.js';
import { detectPrefill } from '../../../src/prefill/detect.js';
import { CONTINUE_INSTRUCTION } from '../../../src/prefill/emulate.js';
import { DEFAULT_THINK_TAGS } from '../../../src/prefill/reasoning.js';
import { providerFor } from '../../../src/providers/index.js';
import { chat, planFor } from '../../helpers/pipeline.js';

const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];

describe('planCall', () => {
  it('a request that is not a prefill is forwarded as the raw bytes the client sent', () => {
    const { body, answer } = planFor('llamacpp', chat({ model: 'm', messages: base, temperature: 0, seed: 7 }), { raw: Buffer.from('raw') });
    expect(body).toEqual(Buffer.from('raw'));
    expect(answer.kind).toBe('none');
  });

  it('a model configured without prefill support takes the fallback, even on an upstream with a native form', () => {
    const request = chat({ model: 'm', messages: [...base, { role: 'assistant', content: 'It is' }] });
    expect(planFor('llamacpp', request).answer.kind).toBe('native');
    expect(planFor('llamacpp', request, { supportsPrefill: false }).answer).toMatchObject({ kind: 'emulated', repeated: { text: 'It is', skipLeadingWhitespace: true } });
    expect(() => planFor('llamacpp', request, { supportsPrefill: false, fallback: 'reject' })).toThrowError(/PREFILL_FALLBACK=reject/);
  });
});

describe('planFallback', () => {
  const request = chat({ model: 'm', messages: [...base, { role: 'assistant', content: 'The capital is' }], echo: true });
  const prefill = detectPrefill(request, 'auto')!;

  it('emulate: the partial answer as the assistant turn, a user turn asking to continue, a repeat stripped', () => {
    const plan = planFallback(providerFor('openai-compatible'), { fallback: 'emulate', thinkTags: DEFAULT_THINK_TAGS }, request, prefill);
    expect((plan.body as { messages: unknown[] }).messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'The capital is' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
    expect(plan.body).not.toHaveProperty('echo');
    expect(plan.answer).toMatchObject({ kind: 'emulated', prefix: 'The capital is', echo: true, repeated: { text: 'The capital is', skipLeadingWhitespace: true } });
  });

  it('reject: a 400 prefill_not_supported naming the prefilled message', () => {
    try {
      planFallback(providerFor('openai-compatible'), { fallback: 'reject', thinkTags: DEFAULT_THINK_TAGS }, request, prefill);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).status).toBe(400);
      expect((err as ProxyError).code).toBe('prefill_not_supported');
      expect((err as ProxyError).param).toBe('messages[2]');
      expect((err as ProxyError).message).toMatch(/PREFILL_FALLBACK=reject/);
    }
  });
});
