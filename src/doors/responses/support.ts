import { ProxyError } from '../../errors.js';
import type { ProviderId } from '../../providers/types.js';
import type { Prepared } from '../../pipeline/types.js';
import type { ResponsesPipelineRequest } from './request.js';
import type { ResponsesRequest } from './schema.js';

/**
 * What the chosen upstream can honour of a Responses request. A request that goes to OpenAI as it came
 * (not a prefill) is OpenAI's to judge; every other goes through the request model, and a field it
 * cannot carry, or the upstream cannot honour, is a 400 naming it — never silently dropped.
 *
 * The table is per provider and explicit. The built-in mock takes everything: it is a stand-in model,
 * which ignores sampling and format settings as it ignores temperature.
 */
interface Rule {
  param: string;
  what: string;
  used(body: ResponsesRequest): boolean;
  honouredBy(provider: ProviderId): boolean;
}

/**
 * Upstreams that take Chat Completions' `reasoning_effort` (Anthropic and Bedrock through the proxy's
 * extended-thinking translation, Gemini as its thinking budget or level).
 */
const REASONING_EFFORT = new Set<ProviderId>(['openai', 'openai-compatible', 'anthropic', 'bedrock', 'gemini', 'vllm', 'sglang', 'groq', 'openrouter', 'mock']);
/**
 * Upstreams that cannot constrain the answer to a JSON schema (DeepSeek and Kimi document JSON mode
 * only; the Messages API and Converse, as the proxy translates to them, have neither).
 */
const NO_JSON_SCHEMA = new Set<ProviderId>(['anthropic', 'bedrock', 'deepseek', 'kimi']);
const NO_JSON_OBJECT = new Set<ProviderId>(['anthropic', 'bedrock']);

const RULES: readonly Rule[] = [
  {
    param: 'reasoning.effort',
    what: 'reasoning.effort',
    used: (body) => body.reasoning?.effort !== undefined && body.reasoning.effort !== null,
    honouredBy: (id) => REASONING_EFFORT.has(id),
  },
  {
    param: 'text.verbosity',
    what: 'text.verbosity other than "medium"',
    used: (body) => typeof body.text?.verbosity === 'string' && body.text.verbosity !== 'medium',
    honouredBy: (id) => id === 'openai' || id === 'mock',
  },
  {
    param: 'text.format',
    what: 'text.format "json_schema"',
    used: (body) => body.text?.format?.type === 'json_schema',
    honouredBy: (id) => !NO_JSON_SCHEMA.has(id),
  },
  {
    param: 'text.format',
    what: 'text.format "json_object"',
    used: (body) => body.text?.format?.type === 'json_object',
    honouredBy: (id) => !NO_JSON_OBJECT.has(id),
  },
];

/** The 400 for the first thing the prepared request's upstream cannot honour, or undefined. */
export function whatUpstreamCannotHonour(door: ResponsesPipelineRequest, prepared: Prepared): ProxyError | undefined {
  // Sent as it came: the upstream speaks the Responses API and judges the request itself.
  if (prepared.first.plan.answers?.wire === 'openai-responses') return undefined;
  const provider = prepared.route.target.provider;
  const first = door.nativeOnly[0];
  if (first) {
    const speaksResponses = provider.nativeWires?.includes('openai-responses') === true;
    const why = !speaksResponses
      ? `this upstream (${provider.id}) does not speak the Responses API`
      : prepared.prefill
        ? `this request is a prefill, which ${provider.id} cannot continue itself, so it goes through Chat Completions`
        : "this request uses the proxy's own features (a thinking budget, continuations), which go through Chat Completions";
    return unsupported(
      `${capitalized(first.what)} cannot be honoured here: ${why}, and the proxy keeps no state and runs no tools. ` +
        'Only an upstream that speaks the Responses API itself (openai) takes it, for a request that is not a prefill.',
      first.param,
    );
  }
  for (const rule of RULES) {
    if (rule.used(door.body) && !rule.honouredBy(provider.id)) {
      return unsupported(`${capitalized(rule.what)} cannot be honoured by this upstream (${provider.id}): remove it, or choose a model on an upstream that takes it.`, rule.param);
    }
  }
  return undefined;
}

/** OpenAI's own code for a parameter the model cannot take. */
function unsupported(message: string, param: string): ProxyError {
  return new ProxyError(400, message, { type: 'invalid_request_error', code: 'unsupported_parameter', param });
}

function capitalized(text: string): string {
  return /^[a-z]/.test(text) ? text[0]!.toUpperCase() + text.slice(1) : text;
}
