/**
 * Models that refuse prefill, learned once: the first prefill for such a model costs one extra
 * upstream call (the refusal, then the fallback), later ones go straight to the fallback until
 * PREFILL_CAPABILITY_TTL_MS passes; /v1/model/info says what was learned.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { complete, startProxy, type RunningProxy } from '../helpers/proxy.js';
import { startAnthropic } from '../mocks/anthropic.js';
import type { MockServer } from '../mocks/server.js';

const messages = [
  { role: 'user', content: 'Finish the sentence.' },
  { role: 'assistant', content: 'The quick brown fox' },
];

let upstream: MockServer | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function info(url: string) {
  return ((await (await fetch(`${url}/v1/model/info`)).json()) as { data: Array<Record<string, unknown>> }).data;
}

describe('a model that refuses prefill, by name (one the proxy does not know)', () => {
  it('costs one extra call the first time, none after, until the TTL passes', async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test', noPrefillModels: /^claude-nova/ });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test', PREFILL_CAPABILITY_TTL_MS: '400' });
    const calls = async () => {
      const before = upstream!.requests.length;
      const answer = await proxy!.client.chat.completions.create({ model: 'claude-nova-1', max_tokens: 16, messages } as never).withResponse();
      return { calls: upstream!.requests.length - before, prefill: answer.response.headers.get('x-prefill'), last: upstream!.requests.at(-1)!.json! };
    };
    const first = await calls();
    expect(first).toMatchObject({ calls: 2, prefill: 'emulated' });
    expect((await info(proxy.url)).find((entry) => entry.model_name === 'claude-nova-1')).toMatchObject({ supports_assistant_prefill: false, source: 'learned' });

    const second = await calls();
    expect(second).toMatchObject({ calls: 1, prefill: 'emulated' });
    // The emulation: the partial answer in the history, a user turn asking to continue it.
    expect((second.last.messages as Array<{ role: string }>).at(-1)!.role).toBe('user');

    // Another model of the same upstream is not affected.
    const other = await proxy.client.chat.completions.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages } as never).withResponse();
    expect(other.response.headers.get('x-prefill')).toBe('native');

    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await calls()).toMatchObject({ calls: 2, prefill: 'emulated' });
  });

  it('a model the proxy knows refuses (Claude 4.6) never costs the extra call; the source is the provider', async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test' });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
    const before = upstream.requests.length;
    await complete(proxy.client, { model: 'claude-opus-4-6', max_tokens: 16, messages });
    expect(upstream.requests.length - before).toBe(1);
    expect((await info(proxy.url))[0]).toMatchObject({ model_name: '*', source: 'provider' });
  });

  it('PREFILL_CAPABILITY_MAX_ENTRIES bounds the memory (the oldest go first)', async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-test', noPrefillModels: /^claude-nova/ });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test', PREFILL_CAPABILITY_MAX_ENTRIES: '2' });
    for (const model of ['claude-nova-a', 'claude-nova-b', 'claude-nova-c']) await complete(proxy.client, { model, max_tokens: 16, messages });
    const learned = (await info(proxy.url)).filter((entry) => entry.source === 'learned').map((entry) => entry.model_name);
    expect(learned).toEqual(['claude-nova-b', 'claude-nova-c']);
  });
});
