/**
 * The real-llama.cpp harness itself: both builds start with both templates, answer /health, and a
 * plain (non-prefill) chat answer equals the ground truth: de3ff81's /apply-template of the
 * messages, continued greedily by /completion on the build under test.
 *
 * Skipped (with one warning) when the binaries are absent; LLAMA_SERVERS_REQUIRED=1 makes that a failure.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  chat,
  completionFinishReason,
  describeLlama,
  GREEDY,
  groundTruth,
  httpRaw,
  KNOWN_LLAMA_BUILDS,
  llamaBinaries,
  startLlamaServer,
  startLlamaServers,
  tokenize,
  type LlamaServer,
  type LlamaTemplate,
} from '../helpers/llama-servers.js';

const TEMPLATES: LlamaTemplate[] = ['chatml', 'think'];
const COMBOS = KNOWN_LLAMA_BUILDS.flatMap((build) => TEMPLATES.map((template) => ({ build, template })));

describeLlama('real llama.cpp harness', () => {
  let servers: LlamaServer[] = [];
  const server = (build: string, template: LlamaTemplate) => servers.find((s) => s.build === build && s.template === template)!;

  beforeAll(async () => {
    servers = await startLlamaServers(COMBOS);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('finds both builds', () => {
    const { builds } = llamaBinaries();
    for (const b of KNOWN_LLAMA_BUILDS) expect(builds[b], b).toMatch(new RegExp(`llama-server-${b}$`));
  });

  it.each(COMBOS)('$build ($template) answers /health and /tokenize', async ({ build, template }) => {
    const s = server(build, template);
    const health = await httpRaw(s.url, '/health', 'GET');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    expect(await tokenize(s.url, 'Once upon a time')).toEqual([403, 407, 261, 378]);
  });

  it.each(COMBOS)('$build ($template): a plain chat answer equals the ground truth', async ({ build, template }) => {
    const s = server(build, template);
    const messages = [{ role: 'user', content: 'Tell me a story.' }];
    const answer = await chat(s.url, { messages, max_tokens: 16, ...GREEDY });
    const truth = await groundTruth({
      templateUrl: server('de3ff81', template).url,
      completionUrl: s.url,
      messages,
      n_predict: 16,
    });
    const choice = answer.choices[0]!;
    expect(choice.finish_reason).toBe(completionFinishReason(truth.answer));
    if (template === 'chatml') {
      expect(truth.prompt).toBe('<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n');
      expect(choice.message.content).toBe(truth.continuation);
    } else {
      // the generation prompt opens <think>; this model never closes it in 16 tokens
      expect(truth.prompt).toBe('<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n<think>\n');
      expect(choice.message.reasoning_content).toBe(truth.continuation);
      expect(choice.message.content ?? '').toBe('');
    }
    expect(answer.usage?.completion_tokens).toBe(16);
  });

  it('stop() ends the process, frees the port, and can be called twice', async () => {
    const s = await startLlamaServer({ build: 'de3ff81', template: 'chatml' });
    await Promise.all([s.stop(), s.stop()]);
    await s.stop();
    await expect(httpRaw(s.url, '/health', 'GET', undefined, 1_000)).rejects.toThrow();
  });
});
