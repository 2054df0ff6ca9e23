import { anthropic } from './anthropic/index.js';
import { bedrock } from './bedrock/index.js';
import { deepseek } from './deepseek.js';
import { gemini } from './gemini/index.js';
import { llamacpp } from './llamacpp/index.js';
import { mistral } from './mistral.js';
import { mock } from './mock/provider.js';
import { ollama } from './ollama.js';
import { openai, openaiCompatible } from './openai.js';
import { dashscope, kimi } from './partial-mode.js';
import { groq, openrouter } from './trailing-assistant.js';
import type { Provider, ProviderId } from './types.js';
import { sglang, tabbyapi, tgi, vllm } from './vllm.js';

const PROVIDERS: Record<ProviderId, Provider> = {
  mock,
  llamacpp,
  vllm,
  sglang,
  tgi,
  tabbyapi,
  ollama,
  deepseek,
  mistral,
  anthropic,
  gemini,
  bedrock,
  groq,
  openrouter,
  kimi,
  dashscope,
  openai,
  'openai-compatible': openaiCompatible,
};

export function providerFor(id: ProviderId): Provider {
  return PROVIDERS[id];
}

export { PROVIDER_IDS, type Provider, type ProviderId } from './types.js';
