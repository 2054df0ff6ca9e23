import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/env.js';

describe('loadConfig', () => {
  it('with nothing set: 127.0.0.1:4000, the built-in mock, auto, emulate', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4000, prefillMode: 'auto', prefillFallback: 'emulate', proxyApiKeys: [] });
    expect(config.upstream).toMatchObject({ provider: 'mock', origin: undefined });
  });

  it('keeps a path prefix and drops a trailing /v1 from UPSTREAM_URL', () => {
    expect(loadConfig({ UPSTREAM_URL: 'http://127.0.0.1:8080', UPSTREAM_PROVIDER: 'llamacpp' }).upstream).toMatchObject({
      origin: 'http://127.0.0.1:8080',
      basePath: '',
    });
    expect(loadConfig({ UPSTREAM_URL: 'https://gw.example.com/llama/v1/', UPSTREAM_PROVIDER: 'vllm' }).upstream).toMatchObject({
      origin: 'https://gw.example.com',
      basePath: '/llama',
    });
  });

  it('infers the provider from well-known hosts and local default ports, else openai-compatible', () => {
    expect(loadConfig({ UPSTREAM_URL: 'https://api.openai.com/v1' }).upstream.provider).toBe('openai');
    expect(loadConfig({ UPSTREAM_URL: 'http://127.0.0.1:8080' }).upstream.provider).toBe('llamacpp');
    expect(loadConfig({ UPSTREAM_URL: 'http://localhost:11434' }).upstream.provider).toBe('ollama');
    expect(loadConfig({ UPSTREAM_URL: 'http://vllm:8000/v1' }).upstream.provider).toBe('vllm');
    expect(loadConfig({ UPSTREAM_URL: 'https://llm.example.com' }).upstream).toMatchObject({ provider: 'openai-compatible', providerSource: 'default' });
  });

  it('splits PROXY_API_KEYS and treats empty values as unset', () => {
    const config = loadConfig({ PROXY_API_KEYS: ' a , b,, ', PORT: '', PREFILL_MODE: '' });
    expect(config.proxyApiKeys).toEqual(['a', 'b']);
    expect(config.port).toBe(4000);
    expect(config.prefillMode).toBe('auto');
  });

  it('fails fast with every problem named', () => {
    expect(() => loadConfig({ PORT: 'abc', PREFILL_MODE: 'sometimes', UPSTREAM_PROVIDER: 'nope' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: 'abc', PREFILL_MODE: 'sometimes' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/PREFILL_MODE/);
    }
    expect(() => loadConfig({ UPSTREAM_PROVIDER: 'vllm' })).toThrowError(/UPSTREAM_URL: required/);
    expect(() => loadConfig({ UPSTREAM_URL: 'ftp://x' })).toThrowError(/UPSTREAM_URL/);
    expect(() => loadConfig({ UPSTREAM_URL: 'http://user:secret@host' })).toThrowError(/UPSTREAM_API_KEY/);
  });
});
