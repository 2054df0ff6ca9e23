import { describe, expect, it } from 'vitest';
import { providerFor } from '../../../src/providers/index.js';
import { chat, planFor } from '../../helpers/pipeline.js';

const request = (messages: unknown[], extra: Record<string, unknown> = {}) => chat({ model: 'm', messages, temperature: 0, seed: 7, ...extra });
const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const partial = { role: 'assistant', content: [{ type: 'text', text: 'The capital ' }, { type: 'text', text: 'is' }], prefix: true };
const plan = (body: ReturnType<typeof request>) => planFor('llamacpp', body, { raw: Buffer.from('raw') });

describe('llamacpp', () => {
  it('plain string content, continue_final_message + add_generation_prompt=false, no proxy fields', () => {
    const { body, answer } = plan(request([...base, partial], { echo: true }));
    expect(body).toEqual({
      model: 'm',
      temperature: 0,
      seed: 7,
      messages: [...base, { role: 'assistant', content: 'The capital is' }],
      continue_final_message: true,
      add_generation_prompt: false,
    });
    expect(answer).toEqual({ kind: 'native', manyChoices: false, prefix: 'The capital is', echo: true, repeated: { text: 'The capital is', skipLeadingWhitespace: false }, reasoningPrefix: undefined, thinkingInContent: undefined });
  });

  it('merges an assistant turn before the prefill (llama.cpp refuses two) and strips what it sees', () => {
    const { body, answer } = plan(request([...base, { role: 'assistant', content: 'Let me see.' }, { role: 'assistant', content: 'It is' }]));
    expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Let me see.\n\nIt is' });
    expect((body as { messages: unknown[] }).messages).toHaveLength(3);
    expect(answer.repeated?.text).toBe('Let me see.\n\nIt is');
    expect(answer.prefix).toBe('It is');
  });

  it('retries once with thinking off after the old-build thinking refusal, and only then', () => {
    const llamacpp = providerFor('llamacpp');
    const body = { messages: [], chat_template_kwargs: { foo: 1 } };
    const retry = llamacpp.recoverFromError?.(400, '{"error":{"message":"Assistant response prefill is incompatible with enable_thinking."}}', body);
    expect(retry).toEqual({ retryBody: { messages: [], chat_template_kwargs: { foo: 1, enable_thinking: false } } });
    expect(llamacpp.recoverFromError?.(400, 'incompatible with enable_thinking', (retry as { retryBody: Record<string, unknown> }).retryBody)).toBeUndefined();
    expect(llamacpp.recoverFromError?.(400, 'some other error', body)).toBeUndefined();
    expect(llamacpp.recoverFromError?.(500, 'incompatible with enable_thinking', body)).toBeUndefined();
  });

  it('no auth header without a key', () => {
    expect(providerFor('llamacpp').authHeaders(undefined)).toEqual({});
  });
});

describe('llamacpp: reasoning prefill', () => {
  const plan = (last: Record<string, unknown>) => planFor('llamacpp', chat({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, last] }));
  const lastMessage = (p: ReturnType<typeof plan>) => (p.body as { messages: unknown[] }).messages.at(-1);
  const thinking = { role: 'assistant', content: '', reasoning_content: 'I need to find' };
  const thoughtThenAnswer = { role: 'assistant', content: 'The capital', reasoning_content: 'Paris.' };

  it('native, continue_final_message true (both builds read it as "go on thinking" with empty content), the repeat of the thought stripped', () => {
    const p = plan(thinking);
    expect(p.body).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    expect(p.answer.repeatedReasoning).toEqual({ text: 'I need to find', closed: false });
    expect(plan(thoughtThenAnswer).answer.repeatedReasoning).toEqual({ text: 'Paris.', closed: true });
    expect(lastMessage(p)).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find' });
    expect(plan(thoughtThenAnswer).body).toMatchObject({ continue_final_message: true });
    expect(p.answer.thinkingInContent).toBeUndefined();
  });
});
