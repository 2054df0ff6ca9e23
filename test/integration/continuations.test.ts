/**
 * Answers that survive the output limit (`max_continuations`): an upstream that stops every answer at
 * eight words gives the client its whole story in one answer — streamed and not, with summed usage,
 * one finish reason and the first call's id — while the client's own `max_tokens` still bounds it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';
import { startAnthropic } from '../mocks/anthropic.js';
import type { MockServer } from '../mocks/server.js';
import { STORY, startStory, storyWords } from '../mocks/story.js';

const ask = [{ role: 'user', content: 'Tell me the story of the fox.' }];
const whole = STORY.join(' ');

describe('max_continuations on an upstream that stops every answer at eight words', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startStory({ cap: 8 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('without it, the answer stops at the upstream\'s limit (one call)', async () => {
    const before = upstream.requests.length;
    const data = await complete(proxy.client, { model: 'story', messages: ask });
    expect(data.choices[0]!.message.content).toBe(storyWords(8));
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(upstream.requests.length - before).toBe(1);
  });

  it('whole: the whole story, one finish reason, usage summed, the first call\'s id', async () => {
    const before = upstream.requests.length;
    const data = await complete(proxy.client, { model: 'story', messages: ask, max_continuations: 10 } as never);
    expect(data.choices[0]!.message.content).toBe(whole);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    const calls = Math.ceil(STORY.length / 8);
    expect(upstream.requests.length - before).toBe(calls);
    expect(data.usage!.completion_tokens).toBe(STORY.length);
    // The later calls carried everything so far as a prefill, and the proxy's field never went upstream.
    const second = upstream.requests[before + 1]!.json!;
    expect((second.messages as Array<{ content: string }>).at(-1)!.content).toBe(storyWords(8));
    expect(second).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    expect(second.max_continuations).toBeUndefined();
  });

  it('streamed: one stream with no seam, one finish reason, summed usage as the final chunk, one id', async () => {
    const result = await streamed(proxy.client, { model: 'story', messages: ask, max_continuations: 10, stream_options: { include_usage: true } } as never);
    expect(result.content).toBe(whole);
    expect(result.finishReason).toBe('stop');
    const finishes = result.chunks.flatMap((chunk) => chunk.choices.filter((choice) => choice.finish_reason));
    expect(finishes).toHaveLength(1);
    expect(new Set(result.chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(result.chunks.filter((chunk) => chunk.choices[0]?.delta?.role === 'assistant')).toHaveLength(1);
    const usage = result.chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.completion_tokens).toBe(STORY.length);
  });

  it('the client\'s own max_tokens still bounds the whole (finish reason length)', async () => {
    const before = upstream.requests.length;
    const data = await complete(proxy.client, { model: 'story', messages: ask, max_tokens: 20, max_continuations: 10 } as never);
    expect(data.choices[0]!.message.content).toBe(storyWords(20));
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(upstream.requests.length - before).toBe(3);
    expect(upstream.requests.at(-1)!.json!.max_tokens).toBe(4);
    const stream = await streamed(proxy.client, { model: 'story', messages: ask, max_tokens: 20, max_continuations: 10 } as never);
    expect(stream.content).toBe(storyWords(20));
  });

  it('continues a client\'s own prefill too, and echo gives prefix + the whole rest', async () => {
    const messages = [...ask, { role: 'assistant', content: storyWords(3) }];
    const data = await complete(proxy.client, { model: 'story', messages, max_continuations: 10 } as never);
    expect(data.choices[0]!.message.content).toBe(` ${storyWords(STORY.length - 3, 3)}`);
    const echoed = await streamed(proxy.client, { model: 'story', messages, max_continuations: 10, echo: true } as never);
    expect(echoed.content).toBe(whole);
  });

  it('stops after max_continuations further calls', async () => {
    const data = await complete(proxy.client, { model: 'story', messages: ask, max_continuations: 1 } as never);
    expect(data.choices[0]!.message.content).toBe(storyWords(16));
    expect(data.choices[0]!.finish_reason).toBe('length');
  });

  it('bad input is a 400 naming the field', async () => {
    for (const value of [-1, 1.5, '2']) {
      await expect(complete(proxy.client, { model: 'story', messages: ask, max_continuations: value } as never)).rejects.toMatchObject({ status: 400, param: 'max_continuations' });
    }
    await expect(complete(proxy.client, { model: 'story', messages: ask, max_continuations: 21 } as never)).rejects.toMatchObject({ status: 400, param: 'max_continuations' });
    await expect(complete(proxy.client, { model: 'story', messages: ask, max_continuations: 2, n: 2 } as never)).rejects.toMatchObject({ status: 400, param: 'n' });
  });
});

describe('max_continuations defaults: MAX_CONTINUATIONS, the upstream\'s and the model\'s config entry', () => {
  let upstream: MockServer;
  const proxies: RunningProxy[] = [];
  beforeAll(async () => {
    upstream = await startStory({ cap: 8 });
  });
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await upstream.close();
  });

  it('MAX_CONTINUATIONS applies without the body field, and not to n > 1', async () => {
    const proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm', MAX_CONTINUATIONS: '10' });
    proxies.push(proxy);
    expect((await complete(proxy.client, { model: 'story', messages: ask })).choices[0]!.message.content).toBe(whole);
    const many = await complete(proxy.client, { model: 'story', messages: ask, n: 2 });
    expect(many.choices[0]!.finish_reason).toBe('length');
    // The body field wins over the default.
    expect((await complete(proxy.client, { model: 'story', messages: ask, max_continuations: 0 } as never)).choices[0]!.message.content).toBe(storyWords(8));
  });

  it('the model\'s config entry, else its upstream\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'upstreams:',
        '  tales:',
        '    provider: vllm',
        `    url: ${upstream.url}/v1`,
        '    max_continuations: 1',
        'models:',
        '  - name: long-story',
        '    upstream: tales',
        '    upstream_model: story',
        '    max_continuations: 10',
        '  - name: short-story',
        '    upstream: tales',
        '    upstream_model: story',
      ].join('\n'),
    );
    const proxy = await startProxy({ CONFIG_FILE: file });
    proxies.push(proxy);
    expect((await complete(proxy.client, { model: 'long-story', messages: ask })).choices[0]!.message.content).toBe(whole);
    expect((await complete(proxy.client, { model: 'short-story', messages: ask })).choices[0]!.message.content).toBe(storyWords(16));
  });
});

describe('max_continuations on Anthropic (its stop reason max_tokens)', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test', maxOutputTokens: 3 });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('an answer cut at max_tokens is continued through prefills, within the client\'s limit, usage summed', async () => {
    const before = upstream.requests.length;
    const data = await complete(proxy.client, { model: 'claude-sonnet-4-5', messages: ask, max_tokens: 12, max_continuations: 5 } as never);
    const calls = upstream.requests.slice(before);
    // Three tokens per answer, twelve allowed: four calls, each later one prefilling the answer so far.
    expect(calls).toHaveLength(4);
    expect(calls.map((call) => call.json!.max_tokens)).toEqual([12, 9, 6, 3]);
    const last = calls.at(-1)!.json!.messages as Array<{ role: string; content: Array<{ text: string }> }>;
    expect(last.at(-1)!.role).toBe('assistant');
    const text = data.choices[0]!.message.content!;
    expect(text.startsWith(last.at(-1)!.content[0]!.text)).toBe(true);
    expect(text.split(' ').filter(Boolean)).toHaveLength(12);
    expect(data.usage!.completion_tokens).toBe(12);
    expect(data.choices[0]!.finish_reason).toBe('length');
    const stream = await streamed(proxy.client, { model: 'claude-sonnet-4-5', messages: ask, max_tokens: 12, max_continuations: 5 } as never);
    expect(stream.content).toBe(data.choices[0]!.message.content);
    expect(stream.chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
  });
});
