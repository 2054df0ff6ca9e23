import { describe, expect, it } from 'vitest';
import { providerFor, type ProviderId } from '../../../src/providers/index.js';
import { chat, planFor } from '../../helpers/pipeline.js';

const request = (messages: unknown[], extra: Record<string, unknown> = {}) => chat({ model: 'm', messages, temperature: 0, seed: 7, ...extra });
const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const partial = { role: 'assistant', content: [{ type: 'text', text: 'The capital ' }, { type: 'text', text: 'is' }], prefix: true };
const plan = (id: ProviderId, body: ReturnType<typeof request>) => planFor(id, body, { raw: Buffer.from('raw') });

describe('vllm and the servers that copied its parameters', () => {
  for (const id of ['vllm', 'sglang', 'tgi', 'tabbyapi'] as const) {
    it(`${id}: continue_final_message + add_generation_prompt=false, the answer passes untouched`, () => {
      const { body, answer } = plan(id, request([...base, partial], { continue_final_message: true }));
      expect(body).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
      expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'The capital is' });
      expect(answer.repeated).toBeUndefined();
    });
  }

  it('a request that is not a prefill keeps the proxy-only fields (vLLM tolerates unknown fields): the raw bytes go', () => {
    const notPrefill = request([...base, { role: 'assistant', content: 'Done.', prefix: false }], { echo: true });
    expect(plan('vllm', notPrefill).body).toEqual(Buffer.from('raw'));
  });

  it('native reasoning_content', () => {
    const thinking = { role: 'assistant', content: '', reasoning_content: 'I need to find' };
    const p = planFor('vllm', chat({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, thinking] }));
    expect((p.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find' });
  });

  it('bearer auth', () => {
    expect(providerFor('vllm').authHeaders('sk-up')).toEqual({ authorization: 'Bearer sk-up' });
  });
});
