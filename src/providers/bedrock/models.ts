import { modelSupportsPrefill as anthropicSupportsPrefill } from '../anthropic/index.js';

/**
 * What a Bedrock model ID says about the model. IDs come as a base model ID
 * (`anthropic.claude-3-5-sonnet-20240620-v1:0`, `anthropic.claude-sonnet-4-6`), a cross-region inference
 * profile (`us.anthropic…`, `global.anthropic…`), or an ARN of either
 * (`arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic…`,
 * `arn:aws:bedrock:us-east-1::foundation-model/anthropic…`). Application inference profiles
 * (`…:application-inference-profile/abc123`) and provisioned-throughput ARNs are opaque: nothing can be
 * read from them.
 */

/** Cross-region inference profile prefixes. */
const PROFILE_PREFIX = /^(?:us|eu|apac|jp|au|ca|global|us-gov)\./;
const NAMED_ARN = /^arn:aws(?:-[a-z-]+)?:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)\/(.+)$/;

/** The base model ID inside an ID, profile or ARN; undefined for an opaque ARN. */
export function baseModelId(modelId: string): string | undefined {
  let id = modelId;
  if (id.startsWith('arn:')) {
    const named = NAMED_ARN.exec(id);
    if (!named) return undefined;
    id = named[1]!;
  }
  return id.replace(PROFILE_PREFIX, '');
}

/** An Anthropic Claude model (or an opaque ID, which may be one). */
export function mayBeClaude(modelId: string | undefined): boolean {
  if (!modelId) return false;
  const base = baseModelId(modelId);
  return base === undefined || base.startsWith('anthropic.') || !/^[a-z0-9-]+\./.test(base);
}

export function isClaude(modelId: string | undefined): boolean {
  const base = modelId ? baseModelId(modelId) : undefined;
  return base !== undefined && base.startsWith('anthropic.claude');
}

/**
 * Whether a model continues a trailing assistant message. Claude 4.6 and later refuse it on Bedrock as on
 * Anthropic's own API (`anthropic.claude-sonnet-4-6`, `anthropic.claude-opus-4-6-v1`, `us.anthropic.claude-opus-4-7`,
 * later families named `claude-<name>-5`…); every other model, and opaque IDs, are tried (a refusal then
 * takes the fallback and is remembered).
 */
export function modelSupportsPrefill(modelId: string | undefined): boolean {
  if (!modelId) return true;
  const base = baseModelId(modelId);
  if (base === undefined || !base.startsWith('anthropic.')) return true;
  const name = base.slice('anthropic.'.length);
  if (!anthropicSupportsPrefill(name)) return false;
  // A family name Anthropic has not used before, at major version 5 or later.
  const family = /^claude-[a-z]+-(\d+)(?:[-.:]|$)/.exec(name);
  return !(family && Number(family[1]) >= 5);
}
