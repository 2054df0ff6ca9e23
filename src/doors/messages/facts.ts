import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../pipeline/context.js';
import { modeFor } from '../../pipeline/prepare.js';
import type { ProviderId } from '../../providers/types.js';
import type { ConversionOptions } from './request.js';

/**
 * Upstreams that take `top_k` (a sampling setting OpenAI's API does not have, and rejects): the
 * others do not get it.
 */
const TAKE_TOP_K: ReadonlySet<ProviderId> = new Set(['mock', 'llamacpp', 'vllm', 'sglang', 'tgi', 'tabbyapi', 'ollama', 'openrouter', 'dashscope', 'anthropic']);

/**
 * What the conversion needs to know of the request's route before the pipeline routes it: its prefill
 * mode (the x-prefill-mode header, else the route's; in mode off a final assistant turn is not marked as
 * a prefill, so it goes upstream as it came), whether the upstream takes `top_k`, and whether it bounds
 * thinking itself (Anthropic: it gets the client's own `thinking`). An unknown model
 * is the pipeline's 404 a moment later.
 */
export function conversionOptions(context: AppContext, request: FastifyRequest, model: string): ConversionOptions {
  const route = context.router.resolve(model);
  if (!route) return { prefill: true, topK: false, nativeThinking: false };
  const provider = route.target.provider;
  return { prefill: modeFor(request.headers, route) !== 'off', topK: TAKE_TOP_K.has(provider.id), nativeThinking: provider.nativeThinkingBudget === true };
}
