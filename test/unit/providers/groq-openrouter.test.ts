import { describe, expect, it } from 'vitest';
import { chat, planFor } from '../../helpers/pipeline.js';

describe('groq and openrouter', () => {
  for (const id of ['groq', 'openrouter'] as const) {
    it(`${id}: trailing assistant message, a possible repeat stripped, proxy fields never sent`, () => {
      const plan = (body: Record<string, unknown>) => planFor(id, chat(body), { raw: Buffer.from('raw') });
      const native = plan({ model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', prefix: true }], echo: true });
      expect(native.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
      expect(native.answer.repeated).toEqual({ text: 'Hello', skipLeadingWhitespace: false });
      const ordinary = plan({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], echo: false });
      expect(ordinary.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    });
  }
});
