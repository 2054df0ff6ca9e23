import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeChatCompletion } from '../../../src/doors/chat/encode.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { rewriteAnswer, rewriteChoiceText } from '../../../src/pipeline/rewrite.js';
import { decodeWholeAnswer, rewriteCompletionInPlace } from '../../../src/providers/openai-chat/answers.js';
import { withRequiredNulls } from '../../../src/providers/openai-chat/required-nulls.js';

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

/**
 * A whole answer whose text needs no change gets the door's required fields written into its bytes
 * (withRequiredNulls): it must read as the in-place route's JSON, which is the decoded-and-encoded one.
 */
describe('withRequiredNulls', () => {
  const noChange: AnswerPlan = { kind: 'native', manyChoices: false, prefix: 'zzz', echo: false, repeated: { text: 'zzz', skipLeadingWhitespace: false } };
  const viaBytes = (body: unknown) => {
    const out = withRequiredNulls(Buffer.from(JSON.stringify(body)));
    return out === undefined ? undefined : (JSON.parse(out.toString('utf8')) as unknown);
  };
  const inPlace = (body: Record<string, unknown>) => bothWays(body, noChange).inPlace;

  for (const [name, body] of recorded) {
    it(`${name}: the same JSON as rewritten in place`, () => {
      expect(viaBytes(body)).toEqual(inPlace(body));
      // Recorded as llama.cpp sent them, bytes and spacing included.
      const bytes = readFileSync(join(REAL, name), 'utf8').trim();
      expect(JSON.parse(withRequiredNulls(Buffer.from(bytes))!.toString('utf8'))).toEqual(inPlace(body));
    });
  }

  it('several choices, tool calls, nested objects and a message that has its refusal', () => {
    const body = {
      ...base,
      choices: [
        { index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'message', arguments: '{"refusal":1}' } }] }, finish_reason: 'tool_calls' },
        { index: 1, message: { role: 'assistant', content: 'a "message": {', refusal: null }, logprobs: { content: [{ token: 'a', logprob: 0, bytes: [97], top_logprobs: [] }] }, finish_reason: 'stop' },
      ],
      timings: { message: { refusal: 1 }, logprobs: [1, { choices: [] }] },
    };
    expect(viaBytes(body)).toEqual(inPlace(body));
  });

  it('gives the bytes themselves when nothing is missing', () => {
    const raw = Buffer.from(JSON.stringify({ ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'x', refusal: null }, logprobs: null, finish_reason: 'stop' }] }));
    expect(withRequiredNulls(raw)).toBe(raw);
  });

  it('whitespace anywhere, and quotes and backslashes in strings, read right', () => {
    const raw = Buffer.from(' {\n "id" : "a\\\\" , "choices" :\t[ { "message" : { "content" : "\\"}]" } , "index":0 } ] }\n');
    const out = withRequiredNulls(raw)!;
    expect(JSON.parse(out.toString('utf8'))).toEqual({ id: 'a\\', choices: [{ logprobs: null, message: { refusal: null, content: '"}]' }, index: 0 }] });
  });

  it('a key written with escapes keeps its own value (the one added comes first)', () => {
    const raw = Buffer.from('{"choices":[{"message":{"content":"x","refus\\u0061l":"no"},"logprob\\u0073":{"content":[]}}]}');
    expect(JSON.parse(withRequiredNulls(raw)!.toString('utf8'))).toEqual({ choices: [{ message: { content: 'x', refusal: 'no' }, logprobs: { content: [] } }] });
  });

  const notRead: Array<[string, string]> = [
    ['not JSON', 'Internal Server Error'],
    ['an array', '[{"choices":[]}]'],
    ['cut short', '{"choices":[{"message":{"content":"x"}}]'],
    ['an unclosed string', '{"choices":[{"message":{"content":"x}}]}'],
    ['something after the end', '{"choices":[{"message":{"content":"x"}}]} {}'],
    ['something before the start', 'x{"choices":[{"message":{"content":"x"}}]}'],
    ['too many closing brackets', '{"choices":[{"message":{"content":"x"}}]}}'],
    ['no choices', '{"id":"a"}'],
    ['choices not an array', '{"choices":{"message":{}}}'],
    ['a choice that is not an object', '{"choices":["x"]}'],
    ['a choice that is a number', '{"choices":[1]}'],
    ['a null among the choices', '{"choices":[{"message":{"content":"x"}},null]}'],
    ['a choice without a message', '{"choices":[{"index":0,"delta":{"content":"x"}}]}'],
    ['a message that is not an object', '{"choices":[{"message":"x"}]}'],
    ['an empty message', '{"choices":[{"message":{ }}]}'],
    ['two messages in a choice', '{"choices":[{"message":{"content":"x"},"message":{"content":"y"}}]}'],
    ['two choices lists', '{"choices":[],"choices":[]}'],
  ];
  for (const [name, text] of notRead) {
    it(`${name}: not read (decoded instead)`, () => {
      expect(withRequiredNulls(Buffer.from(text))).toBeUndefined();
    });
  }
});
