import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { PREFILL_MODES } from '../prefill/detect.js';
import { providerFor } from '../providers/index.js';
import { PROVIDER_IDS } from '../providers/types.js';

/**
 * CONFIG_FILE: several upstreams, model routing and per-model prefill settings, in YAML.
 * `${NAME}` (or `${NAME:-default}`) in any string is replaced by that environment variable, so keys
 * stay out of the file. The JSON Schema for editors (config.schema.json) is generated from this
 * schema by `npm run schema`.
 */

const Tags = z.tuple([z.string().min(1), z.string().min(1)]).describe('Opening and closing thinking tags, e.g. ["<think>", "</think>"]');
const Mode = z.enum(PREFILL_MODES);
const Fallback = z.enum(['emulate', 'reject']);

export const UpstreamEntry = z.strictObject({
  provider: z.enum(PROVIDER_IDS).describe('The upstream dialect'),
  url: z.url({ protocol: /^https?$/ }).optional().describe('Base URL as the provider documents it (not needed for mock; gemini defaults to https://generativelanguage.googleapis.com)'),
  api_key: z.string().optional().describe('Key sent upstream; use ${ENV_VAR}'),
  use_client_key: z.boolean().default(false).describe("Send each client's own key upstream instead of api_key"),
  prefill_mode: Mode.optional(),
  prefill_fallback: Fallback.optional(),
  think_tags: Tags.optional(),
  timeouts: z
    .strictObject({
      connect_ms: z.number().int().positive().optional(),
      headers_ms: z.number().int().positive().optional(),
      body_ms: z.number().int().positive().optional(),
      keep_alive_ms: z.number().int().positive().optional().describe('longest an idle pooled connection is kept (default: UPSTREAM_KEEP_ALIVE_MS)'),
    })
    .optional(),
  retries: z.number().int().min(0).max(10).optional(),
  aws_region: z.string().optional().describe('bedrock: the AWS region (default: the one the url names, else AWS_REGION); without a url, the endpoint is https://bedrock-runtime.{region}.amazonaws.com'),
  aws_access_key_id: z.string().optional().describe("bedrock: AWS access key ID for SigV4 signing (default AWS_ACCESS_KEY_ID; with neither, nor an api_key, AWS's default chain: profile, SSO, web identity, container or instance role); use ${ENV_VAR}"),
  aws_secret_access_key: z.string().optional().describe('bedrock: AWS secret access key (default AWS_SECRET_ACCESS_KEY); use ${ENV_VAR}'),
  aws_session_token: z.string().optional().describe('bedrock: session token of temporary credentials (default AWS_SESSION_TOKEN); use ${ENV_VAR}'),
  max_continuations: z.number().int().min(0).optional().describe('Calls that may continue an answer cut by the output limit (default MAX_CONTINUATIONS)'),
  resume_attempts: z.number().int().min(0).max(10).optional().describe('Times a broken answer is resumed through a prefill (default RESUME_ATTEMPTS)'),
});

export const ModelEntry = z.strictObject({
  name: z.string().min(1).describe('The model name clients send; may contain * wildcards'),
  upstream: z.string().min(1).describe('Name of an entry in upstreams'),
  upstream_model: z.string().min(1).optional().describe('The name sent upstream (default: the name the client sent)'),
  aliases: z.array(z.string().min(1)).default([]),
  supports_assistant_prefill: z.boolean().optional().describe('false: always take prefill_fallback for this model'),
  prefill_mode: Mode.optional(),
  prefill_fallback: Fallback.optional(),
  think_tags: Tags.optional(),
  max_continuations: z.number().int().min(0).optional().describe("Calls that may continue an answer cut by the output limit (default: the upstream's)"),
  resume_attempts: z.number().int().min(0).max(10).optional().describe("Times a broken answer is resumed through a prefill (default: the upstream's)"),
  fallbacks: z.array(z.string().min(1)).default([]).describe('Model names tried in order when this one fails before its answer began, or its resume fails'),
});

export const ConfigFile = z
  .strictObject({
    upstreams: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'upstream names use letters, digits, _ . -'), UpstreamEntry),
    models: z.array(ModelEntry).default([]),
    default_upstream: z.string().optional().describe('Where unknown models and other paths go (default: the only upstream, if there is one)'),
  })
  .superRefine((config, ctx) => {
    const names = Object.keys(config.upstreams);
    if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'at least one upstream is needed' });
    config.models.forEach((model, index) => {
      if (!config.upstreams[model.upstream]) {
        ctx.addIssue({ code: 'custom', path: ['models', index, 'upstream'], message: `no upstream named "${model.upstream}" (known: ${names.join(', ')})` });
      }
    });
    if (config.default_upstream && !config.upstreams[config.default_upstream]) {
      ctx.addIssue({ code: 'custom', path: ['default_upstream'], message: `no upstream named "${config.default_upstream}"` });
    }
    for (const [name, upstream] of Object.entries(config.upstreams)) {
      // Bedrock's URL may be left out when its region is known (checked with the environment in env.ts).
      if (upstream.provider !== 'mock' && upstream.provider !== 'bedrock' && !upstream.url && !providerFor(upstream.provider).defaultBaseUrl) ctx.addIssue({ code: 'custom', path: ['upstreams', name, 'url'], message: `required for provider ${upstream.provider}` });
      for (const key of ['aws_region', 'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'] as const) {
        if (upstream[key] !== undefined && upstream.provider !== 'bedrock') ctx.addIssue({ code: 'custom', path: ['upstreams', name, key], message: 'only for provider bedrock' });
      }
    }
  });

export type ConfigFile = z.infer<typeof ConfigFile>;

export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

/** Reads, interpolates and validates a config file; every problem is reported as file, path, reason. */
export function readConfigFile(path: string, env: NodeJS.ProcessEnv): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new ConfigFileError(document.errors.map((error) => `${path}: ${error.message.split('\n')[0]}`).join('\n'));
  }
  const problems: string[] = [];
  const data = interpolate(document.toJS() ?? {}, env, [], problems);
  if (problems.length > 0) throw new ConfigFileError(problems.map((problem) => `${path}: ${problem}`).join('\n'));
  const parsed = ConfigFile.safeParse(data);
  if (!parsed.success) {
    throw new ConfigFileError(
      parsed.error.issues.map((issue) => `${path}: ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`).join('\n'),
    );
  }
  return parsed.data;
}

function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: Array<string | number>, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${path.join('.')}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, [...path, index], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, [...path, key], problems);
    return out;
  }
  return value;
}

/** The JSON Schema of the config file, for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigFile, { io: 'input', unrepresentable: 'any' });
}
