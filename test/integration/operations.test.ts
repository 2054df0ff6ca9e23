import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropic } from '../mocks/anthropic.js';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import type { MockServer } from '../mocks/server.js';
import { complete, startProxy, type RunningProxy } from '../helpers/proxy.js';

interface Preview {
  route: Record<string, unknown>;
  prefill: Record<string, unknown>;
  upstream_request: { method: string; url: string; headers: Record<string, string>; body: { messages: unknown[]; [key: string]: unknown } };
}

describe('one config file, two upstreams', () => {
  let llama: MockServer;
  let anthropic: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    llama = await startLlamaCpp({ build: '2026-09' });
    anthropic = await startAnthropic({ apiKey: 'sk-ant-file' });
    const path = join(mkdtempSync(join(tmpdir(), 'prefill-proxy-ops-')), 'config.yaml');
    writeFileSync(
      path,
      [
        'upstreams:',
        '  local:',
        '    provider: llamacpp',
        '    url: ${LLAMA_URL}',
        '  claude:',
        '    provider: anthropic',
        '    url: ${ANTHROPIC_URL}',
        '    api_key: ${ANTHROPIC_KEY}',
        'models:',
        '  - name: qwen3',
        '    aliases: [default]',
        '    upstream: local',
        '    upstream_model: qwen3-4b',
        '  - name: "claude-*"',
        '    upstream: claude',
        '  - name: no-prefill',
        '    upstream: local',
        '    supports_assistant_prefill: false',
        '    prefill_fallback: reject',
        '',
      ].join('\n'),
    );
    proxy = await startProxy({ CONFIG_FILE: path, LLAMA_URL: llama.url, ANTHROPIC_URL: anthropic.url, ANTHROPIC_KEY: 'sk-ant-file' });
  });
  afterAll(async () => {
    await proxy.close();
    await llama.close();
    await anthropic.close();
  });

  const messages = [
    { role: 'user' as const, content: 'Tell me a story.' },
    { role: 'assistant' as const, content: 'Once upon a time' },
  ];

  it('routes two models to two upstreams, renaming where configured', async () => {
    const local = await proxy.client.chat.completions.create({ model: 'qwen3', messages }).withResponse();
    expect(local.response.headers.get('x-prefill')).toBe('native');
    expect(llama.requests.at(-1)!.json!.model).toBe('qwen3-4b');
    const viaAlias = await proxy.client.chat.completions.create({ model: 'default', messages });
    expect(viaAlias.choices[0]!.message.content).toBe(local.data.choices[0]!.message.content);

    await proxy.client.chat.completions.create({ model: 'claude-3-7-sonnet-20250219', messages });
    expect(anthropic.requests.at(-1)!.url).toBe('/v1/messages');
    expect(anthropic.requests.at(-1)!.json!.model).toBe('claude-3-7-sonnet-20250219');
    expect(anthropic.requests.at(-1)!.headers['x-api-key']).toBe('sk-ant-file');
  });

  it('an unknown model is a 404 naming the parameter; a model marked without prefill takes its fallback', async () => {
    const unknown = await proxy.client.chat.completions.create({ model: 'gpt-9', messages }).catch((err: unknown) => err);
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    const rejected = await proxy.client.chat.completions.create({ model: 'no-prefill', messages }).catch((err: unknown) => err);
    expect(rejected).toMatchObject({ status: 400, code: 'prefill_not_supported' });
  });

  it('GET /v1/models lists the configured models and aliases', async () => {
    const models = await proxy.client.models.list();
    expect(models.data.map((model) => [model.id, model.owned_by])).toEqual([
      ['qwen3', 'local'],
      ['default', 'local'],
      ['no-prefill', 'local'],
    ]);
  });

  it('GET /v1/model/info tells per model whether and how prefill works', async () => {
    for (const path of ['/v1/model/info', '/model/info']) {
      const info = (await (await fetch(`${proxy.url}${path}`)).json()) as { data: Array<Record<string, unknown>> };
      const byName = Object.fromEntries(info.data.map((entry) => [entry.model_name, entry]));
      expect(byName.qwen3).toMatchObject({ upstream: 'local', provider: 'llamacpp', upstream_model: 'qwen3-4b', supports_assistant_prefill: true, aliases: ['default'] });
      expect(byName.qwen3!.prefill_form).toContain('continue_final_message');
      expect(byName['claude-*']).toMatchObject({ provider: 'anthropic', supports_assistant_prefill: true, prefill_fallback: 'emulate' });
      expect(byName['no-prefill']).toMatchObject({ supports_assistant_prefill: false, prefill_form: 'none', prefill_fallback: 'reject' });
    }
  });

  it('POST /v1/prefill/preview shows the upstream request, secrets redacted, without calling the upstream', async () => {
    const before = anthropic.requests.length;
    const response = await fetch(`${proxy.url}/v1/prefill/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-3-7-sonnet-20250219', messages: [messages[0], { role: 'assistant', content: 'Once upon a time ' }] }),
    });
    expect(response.status).toBe(200);
    const preview = (await response.json()) as Preview;
    expect(anthropic.requests.length).toBe(before);
    expect(preview.route).toMatchObject({ upstream: 'claude', provider: 'anthropic' });
    expect(preview.prefill).toMatchObject({ detected: true, kind: 'native', trigger: 'trailing_assistant', prefix: 'Once upon a time ', strips_repeated_text: ' ' });
    expect(preview.upstream_request).toMatchObject({ method: 'POST', url: `${anthropic.url}/v1/messages` });
    expect(preview.upstream_request.headers).toMatchObject({ 'x-api-key': '[redacted]', 'anthropic-version': '2023-06-01' });
    expect(preview.upstream_request.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Once upon a time' }] });
    expect(JSON.stringify(preview)).not.toContain('sk-ant-file');

    const local = (await (await fetch(`${proxy.url}/v1/prefill/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen3', messages }),
    })).json()) as Preview;
    expect(local.upstream_request.body).toMatchObject({ model: 'qwen3-4b', continue_final_message: true, add_generation_prompt: false });
    const invalid = await fetch(`${proxy.url}/v1/prefill/preview`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": []}' });
    expect(invalid.status).toBe(400);
  });

  it('GET /metrics counts requests by route, model entry, provider, prefill kind and status', async () => {
    await proxy.client.chat.completions.create({ model: 'qwen3', messages, stream: true }).then(async (stream) => {
      for await (const _chunk of stream) void _chunk;
    });
    const text = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(text).toMatch(/prefill_proxy_requests_total\{route="\/v1\/chat\/completions",model="qwen3",provider="llamacpp",prefill="native",status="200"\} \d+/);
    expect(text).toMatch(/prefill_proxy_requests_total\{[^}]*model="",provider="",prefill="",status="404"\} 1/);
    expect(text).toMatch(/prefill_proxy_upstream_response_seconds_count\{provider="anthropic"\} [1-9]/);
    expect(text).toMatch(/prefill_proxy_overhead_seconds_count\{provider="llamacpp"\} [1-9]/);
    expect(text).toMatch(/prefill_proxy_stream_first_byte_seconds_count\{provider="llamacpp"\} 1/);
    expect(text).toMatch(/prefill_proxy_in_flight_requests 1/);
    expect(text).toContain('prefill_proxy_upstream_errors_total');
    expect(text).toContain('prefill_proxy_process_resident_memory_bytes');
    // Counted in plain memory and published at each scrape: a second scrape neither doubles nor loses them.
    const count = (body: string) => /prefill_proxy_requests_total\{route="\/v1\/chat\/completions",model="qwen3",provider="llamacpp",prefill="native",status="200"\} (\d+)/.exec(body)?.[1];
    const again = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(count(again)).toBe(count(text));
    expect(again).toMatch(/prefill_proxy_requests_total\{[^}]*model="",provider="",prefill="",status="404"\} 1/);
    await proxy.client.chat.completions.create({ model: 'qwen3', messages });
    const after = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(Number(count(after))).toBe(Number(count(text)) + 1);
  });
});

describe('environment-only setup is the one-upstream case', () => {
  it('model info has one entry, *, and /v1/models is the upstream list', async () => {
    const proxy = await startProxy();
    const info = (await (await fetch(`${proxy.url}/v1/model/info`)).json()) as { data: Array<Record<string, unknown>> };
    expect(info.data).toEqual([expect.objectContaining({ model_name: '*', upstream: 'default', provider: 'mock', supports_assistant_prefill: true })]);
    expect((await complete(proxy.client, { model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content).toBeTruthy();
    await proxy.close();
  });
});
