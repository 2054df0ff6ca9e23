/**
 * A prefix the proxy trims (Anthropic: the final assistant text must not end in whitespace) or
 * emulates (an upstream without native prefill, told to continue) never doubles or drops a space at
 * the junction: prefixes ending in a space, a newline and neither, whole and streamed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';
import { startAnthropic } from '../mocks/anthropic.js';
import { startOpenAI } from '../mocks/openai.js';
import type { MockServer } from '../mocks/server.js';

const question = { role: 'user', content: 'Finish the sentence.' };
const ask = (prefix: string) => [question, { role: 'assistant', content: prefix }];

async function both(proxy: RunningProxy, model: string, prefix: string) {
  const whole = await complete(proxy.client, { model, max_tokens: 16, messages: ask(prefix), echo: true });
  const stream = await streamed(proxy.client, { model, max_tokens: 16, messages: ask(prefix), echo: true });
  const continuation = await complete(proxy.client, { model, max_tokens: 16, messages: ask(prefix) });
  return { echoed: whole.choices[0]!.message.content!, echoedStream: stream.content, continuation: continuation.choices[0]!.message.content! };
}

describe('Anthropic: a trimmed prefix', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test' });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('ending in a space: the model\'s space after the trimmed text is the prefix\'s, not a second one', async () => {
    const { echoed, echoedStream, continuation } = await both(proxy, 'claude-sonnet-4-5', 'The quick brown fox ');
    // Anthropic got "The quick brown fox" and began its continuation with a space.
    expect((upstream.requests.at(-1)!.json!.messages as Array<{ content: Array<{ text: string }> }>).at(-1)!.content[0]!.text).toBe('The quick brown fox');
    expect(continuation).toMatch(/^\S/);
    expect(echoed).toMatch(/^The quick brown fox \S/);
    expect(echoedStream).toBe(echoed);
  });

  it('ending in a newline: the newline stays the prefix\'s, nothing is doubled or dropped', async () => {
    const { echoed, echoedStream, continuation } = await both(proxy, 'claude-sonnet-4-5', 'The quick brown fox\n');
    expect(continuation).not.toMatch(/^\n/);
    expect(echoed.startsWith('The quick brown fox\n')).toBe(true);
    expect(echoed.startsWith('The quick brown fox\n\n')).toBe(false);
    expect(echoedStream).toBe(echoed);
  });

  it('ending in a letter: the model\'s own space is kept', async () => {
    const { echoed, echoedStream, continuation } = await both(proxy, 'claude-sonnet-4-5', 'The quick brown fox');
    expect(continuation).toMatch(/^ \S/);
    expect(echoed).toMatch(/^The quick brown fox \S/);
    expect(echoedStream).toBe(echoed);
  });

  it('emulated on Claude 4.6 (it refuses prefill): a continuation that starts with a space after a prefix ending in one keeps one', async () => {
    const { echoed, echoedStream, continuation } = await both(proxy, 'claude-opus-4-6', 'The quick brown fox ');
    expect(continuation).toMatch(/^\S/);
    expect(echoed).toMatch(/^The quick brown fox \S/);
    expect(echoedStream).toBe(echoed);
  });
});

describe('OpenAI: an emulated prefix', () => {
  const cases: Array<{ name: string; prefix: string; continuation: string; repeatsPrefix?: boolean; want: string }> = [
    { name: 'ending in a space, the model adds one', prefix: 'The quick brown fox ', continuation: ' jumped over the lazy dog.', want: 'jumped over the lazy dog.' },
    { name: 'ending in a space, the model does not', prefix: 'The quick brown fox ', continuation: 'jumped over the lazy dog.', want: 'jumped over the lazy dog.' },
    { name: 'ending in a space, the model repeats the prefix first', prefix: 'The quick brown fox ', continuation: 'jumped over the lazy dog.', repeatsPrefix: true, want: 'jumped over the lazy dog.' },
    { name: 'ending in a letter, the model adds a space', prefix: 'The quick brown fox', continuation: ' jumped over the lazy dog.', want: ' jumped over the lazy dog.' },
    { name: 'ending in a letter, the model goes on with the word', prefix: 'The quick brown fo', continuation: 'x jumped over the lazy dog.', want: 'x jumped over the lazy dog.' },
    { name: 'ending in a newline, the model writes the next line', prefix: 'The quick brown fox\n', continuation: 'It jumped over the lazy dog.', want: 'It jumped over the lazy dog.' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const upstream = await startOpenAI({ apiKey: 'sk-openai', continuation: c.continuation, repeatsPrefix: c.repeatsPrefix });
      const proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: 'sk-openai' });
      try {
        const { echoed, echoedStream, continuation } = await both(proxy, 'gpt-4o-mini', c.prefix);
        expect(continuation).toBe(c.want);
        expect(echoed).toBe(c.prefix + c.want);
        expect(echoedStream).toBe(echoed);
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  }
});
