import { describe, expect, it } from 'vitest';
import type { Answer } from '../../../src/answer/types.js';
import { rewriteAnswer } from '../../../src/pipeline/rewrite.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';

const answer = (content: string | null): Answer => ({ id: 'a', model: 'm', created: 1, choices: [{ index: 0, content, finishReason: 'stop' }] });
const emulated: AnswerPlan = { kind: 'emulated', prefix: 'Once upon', echo: false, repeated: { text: 'Once upon', skipLeadingWhitespace: true } };

describe('rewriteAnswer (whole answers)', () => {
  it('strips a repeat of the prefix, puts the prefix in front with echo, and keeps a null content null', () => {
    const repeated = answer('\nOnce upon a time');
    rewriteAnswer(repeated, emulated);
    expect(repeated.choices[0]!.content).toBe(' a time');
    const echoed = answer(' a time');
    rewriteAnswer(echoed, { kind: 'native', prefix: 'Once upon', echo: true, repeated: { text: 'Once upon', skipLeadingWhitespace: false } });
    expect(echoed.choices[0]!.content).toBe('Once upon a time');
    const tools = answer(null);
    rewriteAnswer(tools, emulated);
    expect(tools.choices[0]!.content).toBeNull();
  });

  // Leading whitespace of a continuation that is not a repeat reaches the client once.
  it('an emulated continuation that starts with a space keeps one space', () => {
    const text = answer(' a time');
    rewriteAnswer(text, emulated);
    expect(text.choices[0]!.content).toBe(' a time');
  });

  it('an emulated continuation that starts with newlines keeps them once', () => {
    const text = answer('\n\nThe end.');
    rewriteAnswer(text, emulated);
    expect(text.choices[0]!.content).toBe('\n\nThe end.');
  });
});
