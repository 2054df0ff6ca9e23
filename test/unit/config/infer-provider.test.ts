import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';
import { inferProvider } from '../../../src/config/infer-provider.js';
import type { ProviderId } from '../../../src/providers/index.js';

describe('provider inference from well-known hosts', () => {
  const cases: Array<[string, ProviderId, string]> = [
    ['https://api.deepseek.com', 'deepseek', ''],
    ['https://api.mistral.ai/v1', 'mistral', ''],
    ['https://api.anthropic.com', 'anthropic', ''],
    ['https://api.openai.com/v1', 'openai', ''],
    ['https://api.groq.com/openai/v1', 'groq', '/openai'],
    ['https://openrouter.ai/api/v1', 'openrouter', '/api'],
    ['https://api.moonshot.ai/v1', 'kimi', ''],
    ['https://dashscope-intl.aliyuncs.com/compatible-mode/v1', 'dashscope', '/compatible-mode'],
  ];
  for (const [url, provider, basePath] of cases) {
    it(`${url} → ${provider}`, () => {
      expect(loadConfig({ UPSTREAM_URL: url }).upstream).toMatchObject({ provider, providerSource: 'inferred', basePath });
      expect(inferProvider(new URL(url))).toBe(provider);
    });
  }
});
