/**
 * Answers recorded from real llama.cpp servers (test/fixtures/llamacpp/real/, recorded by
 * scripts/record-llama-fixtures.ts), run through the pipeline with the plan the proxy makes for the
 * recorded request: what the client gets must be llama.cpp's own ground truth (the continuation of
 * the prompt its /apply-template renders), recorded beside each answer. No binary needed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rewriteAnswer } from '../../../src/pipeline/rewrite.js';
import { completionAnswers } from '../../../src/providers/llamacpp/completion.js';
import { providerFor } from '../../../src/providers/index.js';
import { chat, planFor, streamThrough } from '../../helpers/pipeline.js';

const root = new URL('../../fixtures/llamacpp/real/', import.meta.url);
const read = (build: string, file: string) => readFileSync(new URL(`${build}/${file}`, root));

interface Case {
  request: string;
  response: string;
  template: string;
  groundTruth?: { continuation: string; finish_reason: string };
}
const cases = (build: string) => (JSON.parse(read(build, 'index.json').toString('utf8')) as { cases: Record<string, Case> }).cases;

/**
 * The recordings the proxy's own chat form produces (trailing assistant + continue_final_message +
 * add_generation_prompt false), per build: June 2025 builds with a thinking template get the raw route
 * instead, so their chat answers are not what the proxy reads.
 */
const PROXY_FORM: Record<string, string[]> = {
  b5640: ['no-prefill', 'content-prefill', 'content-prefill-cfm'],
  de3ff81: ['no-prefill', 'content-prefill', 'content-prefill-cfm', 'think-content-prefill-cfm', 'reasoning-prefill-cfm', 'reasoning-and-content-cfm'],
};

/** The client's view of the ground truth: reasoning up to a closing tag, content after. */
function expected(name: string, continuation: string): { content: string; reasoning: string } {
  if (name.startsWith('reasoning-prefill')) return { reasoning: continuation.split('</think>')[0]!, content: '' };
  return { reasoning: '', content: continuation };
}

for (const build of ['b5640', 'de3ff81']) {
  describe(`llama.cpp ${build}, recorded answers through the pipeline`, () => {
    for (const name of PROXY_FORM[build]!) {
      for (const variant of ['', '.stream', '.stream-usage']) {
        const entry = cases(build)[name + variant];
        if (!entry?.groundTruth) continue;
        it(`${name}${variant}: the client gets exactly llama.cpp's continuation`, async () => {
          const request = chat(JSON.parse(read(build, entry.request).toString('utf8')) as Record<string, unknown>);
          const plan = planFor('llamacpp', request).answer;
          const want = expected(name, entry.groundTruth!.continuation);
          const body = read(build, entry.response);
          if (variant === '') {
            const answer = providerFor('llamacpp').answers.whole(JSON.parse(body.toString('utf8')), request);
            rewriteAnswer(answer, plan);
            expect(answer.choices[0]!.content ?? '').toBe(want.content);
            expect(answer.choices[0]!.reasoning ?? '').toBe(want.reasoning);
            expect(answer.choices[0]!.finishReason).toBe(entry.groundTruth!.finish_reason);
            return;
          }
          for (const pieceSize of [1, 7, body.length]) {
            const streamed = await streamThrough('llamacpp', plan, body, { pieceSize, includeUsage: variant === '.stream-usage', request });
            expect(streamed.content).toBe(want.content);
            expect(streamed.reasoning).toBe(want.reasoning);
            expect(streamed.done).toBe(true);
            expect(streamed.finishReasons).toEqual([entry.groundTruth!.finish_reason]);
            if (name === 'no-prefill') {
              // Nothing to rewrite: the upstream's own bytes, untouched.
              expect(streamed.text).toBe(body.toString('utf8'));
            } else if (variant === '.stream-usage') {
              // A rewritten stream: usage only when asked for, as OpenAI's separate final chunk
              // (b5640 puts it on the finish chunk whether asked or not).
              expect(streamed.usage).toMatchObject({ completion_tokens: expect.any(Number) });
              expect(JSON.parse(streamed.events.at(-2)!)).toMatchObject({ choices: [], usage: expect.any(Object) });
            } else {
              expect(streamed.usage).toBeUndefined();
            }
          }
        });
      }
    }

    it('the raw route: a recorded /completion answer reads as a chat answer', () => {
      const body = JSON.parse(read(build, 'thinking-closed-raw-completion.json').toString('utf8')) as { content: string; tokens_predicted: number };
      const answer = completionAnswers.whole(body, chat({ model: 'stories', messages: [{ role: 'user', content: 'x' }] }));
      expect(answer.choices[0]).toMatchObject({ content: body.content, finishReason: expect.stringMatching(/^(stop|length)$/) });
      expect(answer.usage).toMatchObject({ completion_tokens: body.tokens_predicted });
      expect(answer.model).toBe('stories');
    });
  });
}
