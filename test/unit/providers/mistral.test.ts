import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { chat, planFor, streamThrough } from '../../helpers/pipeline.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/mistral/${name}`, import.meta.url));
const plan = (body: Record<string, unknown>) => planFor('mistral', chat(body), { raw: Buffer.from('raw') });

describe('mistral', () => {
  it('sends prefix: true and only the fields Mistral documents, without nulls', () => {
    const { body, answer } = plan({
      model: 'mistral-small-latest',
      seed: 42,
      max_completion_tokens: 64,
      stream_options: { include_usage: true },
      logprobs: null,
      user: 'u-1',
      echo: true,
      messages: [
        { role: 'developer', content: 'Speak like a pirate.' },
        { role: 'user', content: 'Hi', name: 'bob' },
        { role: 'assistant', content: [{ type: 'text', text: 'Arrr, ' }, { type: 'text', text: 'matey' }], refusal: null },
      ],
    });
    expect(body).toEqual({
      model: 'mistral-small-latest',
      random_seed: 42,
      max_tokens: 64,
      messages: [
        { role: 'system', content: 'Speak like a pirate.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Arrr, matey', prefix: true },
      ],
    });
    expect(answer).toMatchObject({ kind: 'native', echo: true, repeated: { text: 'Arrr, matey' } });
  });

  it('ordinary requests are cleaned too', () => {
    const { body } = plan({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream_options: { include_usage: true }, tool_choice: null });
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
  });

  const strip: AnswerPlan = { kind: 'native', prefix: 'Arrr, matey', echo: false, repeated: { text: 'Arrr, matey', skipLeadingWhitespace: false } };

  it('the echoed prefix split over deltas and glued to the first token is removed, at every cut', async () => {
    for (const size of [1, 3, 50, 10_000]) {
      const result = await streamThrough('mistral', strip, fixture('stream-prefix-echo.sse'), { pieceSize: size });
      expect({ text: result.content, done: result.done }).toEqual({ text: '! The sea is calm.', done: true });
    }
  });

  it('the usage Mistral puts on its last content chunk reaches the client as a separate usage chunk, only when asked for', async () => {
    for (const size of [1, 50, 10_000]) {
      const withUsage = await streamThrough('mistral', strip, fixture('stream-prefix-echo.sse'), { pieceSize: size, includeUsage: true });
      const chunks = withUsage.events.filter((data) => data !== '[DONE]').map((data) => JSON.parse(data));
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 18, total_tokens: 27, completion_tokens: 9 } });
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);
      expect(chunks.at(-2).choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
      const without = await streamThrough('mistral', strip, fixture('stream-prefix-echo.sse'), { pieceSize: size, includeUsage: false });
      expect(without.usage).toBeUndefined();
      expect(without.content).toBe('! The sea is calm.');
    }
  });

  it('a reasoning prefix is rendered in thinking tags in the content', () => {
    const p = plan({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: '', reasoning_content: 'I need to find' }] });
    expect((p.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '<think>\nI need to find', prefix: true });
  });
});
