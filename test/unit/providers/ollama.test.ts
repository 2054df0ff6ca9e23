import { describe, expect, it } from 'vitest';
import { DEFAULT_THINK_TAGS } from '../../../src/prefill/reasoning.js';
import { chat, planFor } from '../../helpers/pipeline.js';

const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const partial = { role: 'assistant', content: [{ type: 'text', text: 'The capital ' }, { type: 'text', text: 'is' }], prefix: true };

describe('ollama', () => {
  it('a plain trailing assistant message, without proxy flags', () => {
    const { body } = planFor('ollama', chat({ model: 'm', messages: [...base, partial], temperature: 0, seed: 7, echo: false }), { raw: Buffer.from('raw') });
    expect(body).toEqual({ model: 'm', temperature: 0, seed: 7, messages: [...base, { role: 'assistant', content: 'The capital is' }] });
  });

  it('a reasoning prefix is rendered open in thinking tags in the content, and split back from the answer', () => {
    const open = planFor('ollama', chat({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: '', reasoning_content: 'I need to find' }] }));
    expect((open.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '<think>\nI need to find' });
    expect(open.answer.thinkingInContent).toEqual({ tags: DEFAULT_THINK_TAGS, startsInside: true });
  });
});
