import type { ProviderId } from '../providers/index.js';
import { BEDROCK_HOST } from '../providers/bedrock/endpoint.js';

const WELL_KNOWN_HOSTS: ReadonlyArray<[RegExp, ProviderId]> = [
  [/(^|\.)api\.openai\.com$/, 'openai'],
  [/(^|\.)api\.deepseek\.com$/, 'deepseek'],
  [/(^|\.)api\.mistral\.ai$/, 'mistral'],
  [/(^|\.)api\.anthropic\.com$/, 'anthropic'],
  [/(^|\.)api\.groq\.com$/, 'groq'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)api\.moonshot\.(ai|cn)$/, 'kimi'],
  [/(^|\.)dashscope(-intl|-us)?\.aliyuncs\.com$/, 'dashscope'],
  [BEDROCK_HOST, 'bedrock'],
  [/(^|\.)generativelanguage\.googleapis\.com$/, 'gemini'],
];

/** Default ports of local model servers: a guess only for loopback and private hosts. */
const LOCAL_PORTS: Readonly<Record<string, ProviderId>> = {
  '8080': 'llamacpp',
  '8000': 'vllm',
  '30000': 'sglang',
  '11434': 'ollama',
  '5000': 'tabbyapi',
};

/** Guesses the provider from the URL when UPSTREAM_PROVIDER is unset; undefined when unsure. */
export function inferProvider(url: URL): ProviderId | undefined {
  const host = url.hostname.toLowerCase();
  for (const [pattern, provider] of WELL_KNOWN_HOSTS) {
    if (!pattern.test(host)) continue;
    // Gemini's OpenAI-compatible endpoint (`…/v1beta/openai`) speaks Chat Completions, not the native dialect.
    if (provider === 'gemini' && /\/openai\/?$/.test(url.pathname)) return 'openai-compatible';
    return provider;
  }
  if (isLocalHost(host)) return LOCAL_PORTS[url.port];
  return undefined;
}

function isLocalHost(host: string): boolean {
  return (
    host === 'localhost' ||
    host === 'host.docker.internal' ||
    host === '[::1]' ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    !host.includes('.')
  );
}
