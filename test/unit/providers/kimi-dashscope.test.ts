import { describe, expect, it } from 'vitest';
import { DEFAULT_THINK_TAGS } from '../../../src/prefill/reasoning.js';
import { chat, planFor } from '../../helpers/pipeline.js';

describe('kimi and dashscope', () => {
  for (const id of ['kimi', 'dashscope'] as const) {
    it(`${id}: partial: true, and JSON mode takes the fallback`, () => {
      const plan = (body: Record<string, unknown>) => planFor(id, chat(body), { raw: Buffer.from('raw') });
      const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', name: 'Dr. Kimi' }];
      const native = plan({ model: 'm', messages });
      expect((native.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Hello', name: 'Dr. Kimi', partial: true });
      expect(native.answer.repeated).toBeUndefined();
      expect(plan({ model: 'm', messages, response_format: { type: 'json_object' } }).answer.kind).toBe('emulated');
    });
  }

  it('kimi: a reasoning prefix with content is rendered closed in thinking tags; the answer is content (nothing to split)', () => {
    const closed = planFor(
      'kimi',
      chat({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'The capital', reasoning_content: 'Paris.' }] }),
    );
    expect((closed.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '<think>\nParis.\n</think>\n\nThe capital', partial: true });
    // The thought is closed in the prompt: the model answers; no tag splitting (which would trim the answer's first space).
    expect(closed.answer.thinkingInContent).toBeUndefined();
    const open = planFor('kimi', chat({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: '', reasoning_content: 'Paris' }] }));
    expect(open.answer.thinkingInContent).toEqual({ tags: DEFAULT_THINK_TAGS, startsInside: true });
  });
});
