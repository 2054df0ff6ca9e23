/**
 * Continuing past the output limit on real llama.cpp servers: each build started with `-n 8` (its own
 * output limit: every answer stops at eight tokens with finish_reason "length"), the proxy carries
 * the answer on through prefills (`max_continuations`), and the whole equals what llama.cpp itself
 * writes in one go (its /completion of the same prompt, on a server without the limit).
 *
 * Skipped (with one warning) when the binaries are absent; LLAMA_SERVERS_REQUIRED=1 makes that a failure.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';
import { applyTemplate, completion, describeLlama, GREEDY, KNOWN_LLAMA_BUILDS, startLlamaServers, type LlamaServer } from '../helpers/llama-servers.js';

const U = { role: 'user', content: 'Tell me a story.' };

describeLlama('max_continuations on real llama.cpp servers that stop every answer at eight tokens', () => {
  let capped: LlamaServer[] = [];
  let plain: LlamaServer[] = [];
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    capped = await startLlamaServers(KNOWN_LLAMA_BUILDS.map((build) => ({ build, template: 'chatml' as const, extraArgs: ['-n', '8'] })));
    plain = await startLlamaServers(KNOWN_LLAMA_BUILDS.map((build) => ({ build, template: 'chatml' as const })));
    for (const server of capped) proxies.push(await startProxy({ UPSTREAM_URL: server.url, UPSTREAM_PROVIDER: 'llamacpp' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all([...capped, ...plain].map((server) => server.stop()));
  });

  it.each(KNOWN_LLAMA_BUILDS.map((build, index) => ({ build, index })))('$build: three calls of eight tokens make the 24-token answer llama.cpp writes in one go, streamed and not', async ({ index }) => {
    const proxy = proxies[index]!;
    const messages = [U, { role: 'assistant', content: 'Once upon a time' }];
    const one = await complete(proxy.client, { model: 'stories', messages, ...GREEDY } as never);
    expect(one.choices[0]!.finish_reason).toBe('length');
    expect(one.usage!.completion_tokens).toBe(8);

    const prompt = await applyTemplate(plain[index]!.url, messages);
    const expected = await completion(plain[index]!.url, prompt, { n_predict: 24 });
    const whole = await complete(proxy.client, { model: 'stories', messages, max_continuations: 2, ...GREEDY } as never);
    expect(whole.choices[0]!.message.content).toBe(expected);
    expect(whole.usage!.completion_tokens).toBe(24);
    expect(whole.choices[0]!.finish_reason).toBe('length');
    const stream = await streamed(proxy.client, { model: 'stories', messages, max_continuations: 2, ...GREEDY } as never);
    expect(stream.content).toBe(expected);
    expect(stream.chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
  });
});
