import { describe, expect, it } from 'vitest';
import { chat, planFor } from '../../helpers/pipeline.js';

describe('mock', () => {
  it('prefix: true on the last message', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Once' },
    ];
    const { body } = planFor('mock', chat({ model: 'm', messages, temperature: 0, seed: 7 }), { raw: Buffer.from('raw') });
    expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Once', prefix: true });
  });
});
