/**
 * Streams that survive a broken upstream: an upstream that drops the first stream mid-way still gives
 * the client one clean stream with the whole answer and [DONE] (two upstream calls); a whole answer
 * cut mid-body still arrives whole; with RESUME_ATTEMPTS=0 the client gets the error event; a
 * configured fallback model takes over when the upstream fails before the answer began, and when a
 * resume on the same upstream fails.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';
import { REFUSING_UPSTREAM } from '../helpers/unreachable.js';
import { startAnthropic } from '../mocks/anthropic.js';
import type { MockServer } from '../mocks/server.js';
import { STORY, startStory, storyWords } from '../mocks/story.js';

const ask = [{ role: 'user' as const, content: 'Tell me the story of the fox.' }];
const upstreams: MockServer[] = [];
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
  proxy = undefined;
});

async function story(options: Parameters<typeof startStory>[0]) {
  const upstream = await startStory(options);
  upstreams.push(upstream);
  return upstream;
}

async function rawStream(url: string, body: Record<string, unknown>) {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  const text = await response.text();
  const events: string[] = [];
  new SseParser((event) => events.push(event.data)).push(text);
  let content = '';
  for (const data of events) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
    for (const choice of chunk.choices ?? []) content += choice.delta?.content ?? '';
  }
  return { response, text, events, content };
}

describe('resume through prefill', () => {
  it('a stream dropped mid-way is resumed: one clean stream, the whole answer, [DONE], two upstream calls', async () => {
    const upstream = await story({ cap: 100, dropAfterEvents: 5 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
    const { response, events, content } = await rawStream(proxy.url, { model: 'story', messages: ask });
    expect(content).toBe(STORY.join(' '));
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.some((data) => data.includes('"error"'))).toBe(false);
    expect(upstream.requests).toHaveLength(2);
    // The second call carried what the client already had as a prefill.
    const second = upstream.requests[1]!.json!;
    expect((second.messages as Array<{ content: string }>).at(-1)!.content).toBe(storyWords(5));
    expect(second).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    // One identity, one role announcement; the headers describe how the answer started.
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { id: string; choices: Array<{ delta: { role?: string } }> });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.role)).toHaveLength(1);
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(response.headers.get('x-prefill-upstream')).toBe('default');
  });

  it('the same through the OpenAI SDK, on a rewritten stream (a prefill with echo)', async () => {
    const upstream = await story({ cap: 100, dropAfterEvents: 4 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
    const messages = [...ask, { role: 'assistant', content: storyWords(3) }];
    const result = await streamed(proxy.client, { model: 'story', messages, echo: true });
    expect(result.content).toBe(STORY.join(' '));
    expect(result.finishReason).toBe('stop');
    expect(upstream.requests).toHaveLength(2);
    expect((upstream.requests[1]!.json!.messages as Array<{ content: string }>).at(-1)!.content).toBe(storyWords(7));
  });

  it('RESUME_ATTEMPTS=0: the client gets the error event and no [DONE]', async () => {
    const upstream = await story({ cap: 100, dropAfterEvents: 5 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm', RESUME_ATTEMPTS: '0' });
    const { events, content } = await rawStream(proxy.url, { model: 'story', messages: ask });
    expect(content).toBe(storyWords(5));
    expect(events.at(-1)).toContain('upstream_connection_lost');
    expect(events).not.toContain('[DONE]');
    expect(upstream.requests).toHaveLength(1);
  });

  it('an upstream that keeps failing: one resume (the default), then the error event', async () => {
    const upstream = await story({ cap: 100, dropAfterEvents: 3, faults: 10 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
    const { events, content } = await rawStream(proxy.url, { model: 'story', messages: ask });
    expect(content).toBe(storyWords(6));
    expect(events.at(-1)).toContain('upstream_connection_lost');
    expect(upstream.requests).toHaveLength(2);
  });

  it('a whole answer cut mid-body still arrives whole (asked again)', async () => {
    const upstream = await story({ cap: 100, cutBody: true });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
    const data = await complete(proxy.client, { model: 'story', messages: ask });
    expect(data.choices[0]!.message.content).toBe(STORY.join(' '));
    expect(upstream.requests).toHaveLength(2);
    await proxy.close();
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm', RESUME_ATTEMPTS: '0' });
    const cut = await story({ cap: 100, cutBody: true });
    await proxy.close();
    proxy = await startProxy({ UPSTREAM_URL: `${cut.url}/v1`, UPSTREAM_PROVIDER: 'vllm', RESUME_ATTEMPTS: '0' });
    await expect(complete(proxy.client, { model: 'story', messages: ask })).rejects.toMatchObject({ status: 502, code: 'upstream_connection_lost' });
  });

  it('continuations and resume together: a stream cut mid-way and capped at eight words still tells the whole story', async () => {
    const upstream = await story({ cap: 8, dropAfterEvents: 5 });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm' });
    const result = await streamed(proxy.client, { model: 'story', messages: ask, max_continuations: 10 } as never);
    expect(result.content).toBe(STORY.join(' '));
    expect(result.chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
  });
});

describe('resume on a translated stream (Anthropic)', () => {
  it('an error event mid-stream is resumed once; when the resume breaks too, the client gets the upstream\'s error', async () => {
    const upstream = await startAnthropic({ apiKey: 'sk-ant-test', failAfterDeltas: 2 });
    upstreams.push(upstream);
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
    const messages = [...ask, { role: 'assistant', content: 'Once upon a time' }];
    const { events } = await rawStream(proxy.url, { model: 'claude-sonnet-4-5', max_tokens: 16, messages });
    expect(upstream.requests).toHaveLength(2);
    // The resume prefilled what the client had: the prefix and the two words before the break.
    const resumed = upstream.requests[1]!.json!.messages as Array<{ role: string; content: Array<{ text: string }> }>;
    expect(resumed.at(-1)!.role).toBe('assistant');
    expect(resumed.at(-1)!.content[0]!.text.startsWith('Once upon a time ')).toBe(true);
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { type: 'overloaded_error', message: 'Overloaded' } });
  });
});

describe('fallbacks (models[].fallbacks in the config file)', () => {
  function configFile(primaryUrl: string, backupUrl: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'upstreams:',
        '  primary:',
        '    provider: vllm',
        `    url: ${primaryUrl}/v1`,
        '    retries: 0',
        '  backup:',
        '    provider: vllm',
        `    url: ${backupUrl}/v1`,
        'models:',
        '  - name: story',
        '    upstream: primary',
        '    fallbacks: [backup-story]',
        '  - name: backup-story',
        '    upstream: backup',
        '    upstream_model: story',
      ].join('\n'),
    );
    return file;
  }

  it('an unreachable upstream: the fallback answers, and x-prefill-upstream names it', async () => {
    const backup = await story({ cap: 100 });
    proxy = await startProxy({ CONFIG_FILE: configFile(REFUSING_UPSTREAM, backup.url) });
    const whole = await proxy.client.chat.completions.create({ model: 'story', messages: ask }).withResponse();
    expect(whole.data.choices[0]!.message.content).toBe(STORY.join(' '));
    expect(whole.response.headers.get('x-prefill-upstream')).toBe('backup');
    const stream = await rawStream(proxy.url, { model: 'story', messages: ask });
    expect(stream.content).toBe(STORY.join(' '));
    expect(stream.response.headers.get('x-prefill-upstream')).toBe('backup');
  });

  it('a stream broken mid-way whose resume fails on the same upstream is resumed on the fallback', async () => {
    const primary = await story({ cap: 100, dropAfterEvents: 4, faults: 1 });
    const backup = await story({ cap: 100 });
    proxy = await startProxy({ CONFIG_FILE: configFile(primary.url, backup.url) });
    // The primary breaks the first stream and then goes away: the resume on it fails to connect.
    const streaming = rawStream(proxy.url, { model: 'story', messages: ask });
    const closing = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (primary.requests.length > 0) {
          clearInterval(check);
          void primary.close().then(resolve);
        }
      }, 1);
    });
    const [{ content, events, response }] = await Promise.all([streaming, closing]);
    expect(content).toBe(STORY.join(' '));
    expect(events.at(-1)).toBe('[DONE]');
    expect(response.headers.get('x-prefill-upstream')).toBe('primary');
    expect((backup.requests[0]!.json!.messages as Array<{ content: string }>).at(-1)!.content).toBe(storyWords(4));
  });

  it("a fallback model without upstream_model gets its own name, not the client's bytes with the first model's", async () => {
    const backup = await story({ cap: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-'));
    const file = join(dir, 'config.yaml');
    const unreachable = `${REFUSING_UPSTREAM}/v1`;
    writeFileSync(
      file,
      ['upstreams:', '  primary:', '    provider: vllm', `    url: ${unreachable}`, '    retries: 0', '  backup:', '    provider: vllm', `    url: ${backup.url}/v1`, 'models:', '  - name: story', '    upstream: primary', '    fallbacks: [other-story]', '  - name: other-story', '    upstream: backup'].join('\n'),
    );
    proxy = await startProxy({ CONFIG_FILE: file });
    // A plain request and a prefill: both would otherwise go as the client's bytes.
    for (const messages of [ask, [...ask, { role: 'assistant' as const, content: 'Once' }]]) {
      const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'story', messages }) });
      expect(response.status).toBe(200);
      expect(backup.requests.at(-1)!.json!.model).toBe('other-story');
    }
  });

  it('a client error is not retried on a fallback', async () => {
    const primary = await story({ cap: 100 });
    const backup = await story({ cap: 100 });
    proxy = await startProxy({ CONFIG_FILE: configFile(primary.url, backup.url) });
    await expect(complete(proxy.client, { model: 'story', messages: [] as never })).rejects.toMatchObject({ status: 400 });
    expect(backup.requests).toHaveLength(0);
  });
});
