import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeChatCompletion } from '../../../src/doors/chat/encode.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { rewriteAnswer, rewriteChoiceText } from '../../../src/pipeline/rewrite.js';
import { decodeWholeAnswer, rewriteCompletionInPlace } from '../../../src/providers/openai-chat/answers.js';

/**
 * A whole Chat Completions answer already in the door's own form is rewritten in place and
 * re-serialized, instead of decoded into the answer model and encoded again. The two must give the
 * same JSON: checked on every whole answer recorded from the real llama.cpp builds (which must take
 * the in-place path) and on answers that must not take it.
 */
const REAL = join(import.meta.dirname, '../../fixtures/llamacpp/real');
const recorded: Array<[string, Record<string, unknown>]> = [];
for (const build of readdirSync(REAL, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)) {
  for (const file of readdirSync(join(REAL, build))) {
    if (!file.endsWith('.json') || file.includes('.request.') || file.includes('.stream')) continue;
    const body = JSON.parse(readFileSync(join(REAL, build, file), 'utf8')) as Record<string, unknown>;
    if (body.object === 'chat.completion') recorded.push([`${build}/${file}`, body]);
  }
}

const plans: Array<[string, AnswerPlan]> = [
  ['repeat stripped', { kind: 'native', manyChoices: false, prefix: 'Once upon a time', echo: false, repeated: { text: 'Once upon a time', skipLeadingWhitespace: false } }],
  ['echo', { kind: 'native', manyChoices: false, prefix: 'Once upon a time', echo: true }],
  ['reasoning prefix echoed, its repeat stripped', { kind: 'native', manyChoices: false, prefix: '', reasoningPrefix: 'Let me think', echo: true, repeatedReasoning: { text: 'Let me think', closed: false } }],
  ['thinking in the content', { kind: 'native', manyChoices: false, prefix: '', echo: false, thinkingInContent: { tags: { open: '<think>', close: '</think>' }, startsInside: true } }],
];

function bothWays(body: Record<string, unknown>, plan: AnswerPlan): { inPlace: unknown; decoded: unknown; took: boolean } {
  const copy = structuredClone(body);
  const took = rewriteCompletionInPlace(copy, (choice) => rewriteChoiceText(choice, plan));
  const answer = decodeWholeAnswer(structuredClone(body));
  rewriteAnswer(answer, plan);
  return { inPlace: JSON.parse(JSON.stringify(copy)), decoded: JSON.parse(encodeChatCompletion(answer)), took };
}

const base = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1795358102,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Once upon a time there was' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
};

describe('rewriteCompletionInPlace', () => {
  it('finds the recorded llama.cpp answers', () => {
    expect(recorded.length).toBeGreaterThanOrEqual(10);
  });

  for (const [name, body] of recorded) {
    for (const [planName, plan] of plans) {
      it(`${name}, ${planName}: in place, the same JSON as decoded and encoded`, () => {
        const { inPlace, decoded, took } = bothWays(body, plan);
        expect(took).toBe(true);
        expect(inPlace).toEqual(decoded);
      });
    }
  }

  it('reasoning_content and tool calls, extras at both levels, kept alike', () => {
    const body = {
      ...base,
      system_fingerprint: 'fp',
      choices: [
        { index: 0, message: { role: 'assistant', content: null, reasoning_content: 'Let me think about it', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }], annotations: [] }, logprobs: { content: [] }, finish_reason: 'tool_calls' },
        { index: 1, message: { role: 'assistant', content: 'Once upon a time', refusal: null }, finish_reason: null },
      ],
    };
    for (const [, plan] of plans) {
      const { inPlace, decoded, took } = bothWays(body, plan);
      expect(took).toBe(true);
      expect(inPlace).toEqual(decoded);
    }
  });

  const notInPlace: Array<[string, Record<string, unknown>]> = [
    ['reasoning under vLLM\'s "reasoning" name', { ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'x', reasoning: 'y' }, finish_reason: 'stop' }] }],
    ['a choice field the door drops (vLLM\'s stop_reason)', { ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop', stop_reason: null }] }],
    ['empty usage details (vLLM\'s prompt_tokens_details: null)', { ...base, usage: { ...base.usage, prompt_tokens_details: null } }],
    ['an empty tool-call list', { ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'x', tool_calls: [] }, finish_reason: 'stop' }] }],
    ['an empty finish reason', { ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: '' }] }],
    ['no object type', { ...base, object: undefined }],
    ['a numeric id', { ...base, id: 7 }],
    ['counters as strings', { ...base, usage: { prompt_tokens: '3', completion_tokens: 4, total_tokens: 7 } }],
    ['a message without content', { ...base, choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }] }],
  ];
  for (const [name, body] of notInPlace) {
    it(`${name}: not in place, left untouched (decoded and encoded instead)`, () => {
      const copy = structuredClone(body);
      expect(rewriteCompletionInPlace(copy, () => undefined)).toBe(false);
      expect(copy).toEqual(body);
    });
  }
});
