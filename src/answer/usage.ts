import type { Usage } from './types.js';

/** Usage over several upstream calls: the counters added, details taken from the first. */
export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    ...a,
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}

/** An upstream's usage object as the pipeline's, its counters made numbers. */
export function toUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const raw = value as Record<string, unknown>;
  const prompt = Number(raw.prompt_tokens) || 0;
  const completion = Number(raw.completion_tokens) || 0;
  const total = Number(raw.total_tokens) || prompt + completion;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
  // Details the upstream gave, except empty ones (vLLM's `prompt_tokens_details: null` is not valid
  // in OpenAI's schema, where details are objects or absent).
  for (const key in raw) {
    if (!(key in usage) && raw[key] !== null && raw[key] !== undefined) usage[key] = raw[key];
  }
  return usage;
}
