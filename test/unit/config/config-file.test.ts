import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';
import { configJsonSchema } from '../../../src/config/file.js';
import { Router } from '../../../src/routing/router.js';
import { MockUpstream } from '../../../src/providers/mock/model.js';

const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const example = new URL('../../../examples/prefill-proxy.yaml', import.meta.url).pathname;

describe('CONFIG_FILE', () => {
  it('loads the example, interpolating ${ENV} and ${ENV:-default}', () => {
    const config = loadConfig({ CONFIG_FILE: example, ANTHROPIC_API_KEY: 'sk-ant-from-env' });
    const upstreams = Object.fromEntries(config.routing.upstreams.map((upstream) => [upstream.name, upstream]));
    expect(upstreams.local).toMatchObject({ provider: 'llamacpp', origin: 'http://127.0.0.1:8080', headersTimeoutMs: 600000 });
    expect(upstreams.claude).toMatchObject({ provider: 'anthropic', apiKey: 'sk-ant-from-env', prefillFallback: 'emulate' });
    expect(config.routing.defaultUpstream).toBe('local');
    expect(loadConfig({ CONFIG_FILE: example, LLAMA_URL: 'http://gpu-box:9000' }).routing.upstreams[0]!.origin).toBe('http://gpu-box:9000');
  });

  it('reports every problem with the file, the path and the reason', () => {
    const path = file(
      'bad.yaml',
      ['upstreams:', '  a:', '    provider: llamacpp', '    url: not a url', '    colour: blue', 'models:', '  - name: x', '    upstream: nowhere', ''].join('\n'),
    );
    let message = '';
    try {
      loadConfig({ CONFIG_FILE: path });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${path}: upstreams.a.url:`);
    expect(message).toContain(`${path}: upstreams.a: Unrecognized key: "colour"`);
    expect(message).toContain(`${path}: models.0.upstream: no upstream named "nowhere"`);
  });

  it('names a missing environment variable, a YAML syntax error and a missing file', () => {
    const path = file('env.yaml', 'upstreams:\n  a:\n    provider: vllm\n    url: http://x\n    api_key: ${NOT_SET_ANYWHERE}\n');
    expect(() => loadConfig({ CONFIG_FILE: path })).toThrowError(/upstreams\.a\.api_key: environment variable NOT_SET_ANYWHERE is not set/);
    const broken = file('broken.yaml', 'upstreams: [\n');
    expect(() => loadConfig({ CONFIG_FILE: broken })).toThrowError(/broken\.yaml/);
    expect(() => loadConfig({ CONFIG_FILE: join(dir, 'missing.yaml') })).toThrowError(/missing\.yaml: cannot read the file \(ENOENT\)/);
  });

  it('the committed JSON Schema is the one the zod schema generates (npm run schema)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../config.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});

describe('model routing', () => {
  const config = loadConfig({ CONFIG_FILE: example });
  const router = new Router(config, config.routing, () => new MockUpstream());
  const resolve = (model: string | undefined) => {
    const route = router.resolve(model);
    return route && { upstream: route.target.spec.name, model: route.upstreamModel, label: route.label };
  };

  it('exact name, alias, prefix, wildcard, default', () => {
    expect(resolve('qwen3')).toEqual({ upstream: 'local', model: 'qwen3-4b-instruct', label: 'qwen3' });
    expect(resolve('default')).toEqual({ upstream: 'local', model: 'qwen3-4b-instruct', label: 'qwen3' });
    expect(resolve('claude/claude-sonnet-4-5')).toEqual({ upstream: 'claude', model: 'claude-sonnet-4-5', label: 'claude/*' });
    expect(resolve('anthropic/claude-3-5-haiku')).toEqual({ upstream: 'claude', model: 'claude-3-5-haiku', label: 'claude/*' });
    expect(resolve('claude-opus-4-6')).toEqual({ upstream: 'claude', model: undefined, label: 'claude-*' });
    expect(resolve('something-else')).toEqual({ upstream: 'local', model: undefined, label: 'local/*' });
    expect(resolve(undefined)).toMatchObject({ upstream: 'local' });
  });

  it('per-model settings override the upstream and the environment', () => {
    expect(router.resolve('tiny-chat')!.supportsAssistantPrefill).toBe(false);
    expect(router.resolve('qwen3')!.thinkTags).toEqual({ open: '<think>', close: '</think>' });
  });

  it('without default_upstream, an unknown model does not route (a 404)', () => {
    const path = file('strict.yaml', 'upstreams:\n  a: { provider: mock }\n  b: { provider: mock }\nmodels:\n  - { name: one, upstream: a }\n');
    const strict = loadConfig({ CONFIG_FILE: path });
    const strictRouter = new Router(strict, strict.routing, () => new MockUpstream());
    expect(strictRouter.resolve('one')?.target.spec.name).toBe('a');
    expect(strictRouter.resolve('two')).toBeUndefined();
  });
});
