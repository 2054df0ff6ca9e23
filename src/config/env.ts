import { z } from 'zod';
import { PREFILL_MODES } from '../prefill/detect.js';
import { parseThinkTags, type ThinkTags } from '../prefill/reasoning.js';
import { PROVIDER_IDS, providerFor, type ProviderId } from '../providers/index.js';
import { ConfigFileError, readConfigFile, type ConfigFile } from './file.js';
import { globToRegExp } from './glob.js';
import { FALLBACKS, LOG_LEVELS, type Config, type ModelSpec, type Routing, type UpstreamConfig, type UpstreamSpec } from './types.js';
import { inferProvider } from './infer-provider.js';
import { awsFromEnv, bedrockSettings } from './aws.js';
import { splitUpstreamUrl } from './upstream-url.js';


const positiveMs = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The environment as documented in .env.example; empty values count as unset. */
const EnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  UPSTREAM_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTREAM_PROVIDER: z.enum(PROVIDER_IDS).optional(),
  UPSTREAM_API_KEY: z.string().optional(),
  PROXY_API_KEYS: z.string().optional(),
  PREFILL_MODE: z.enum(PREFILL_MODES).default('auto'),
  PREFILL_FALLBACK: z.enum(FALLBACKS).default('emulate'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  UPSTREAM_CONNECT_TIMEOUT_MS: positiveMs(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: positiveMs(600_000),
  UPSTREAM_BODY_TIMEOUT_MS: positiveMs(300_000),
  UPSTREAM_KEEP_ALIVE_MS: positiveMs(4_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  MAX_JSON_DEPTH: z.coerce.number().int().min(8).max(10_000).default(256),
  REQUEST_TIMEOUT_MS: positiveMs(60_000),
  UPSTREAM_MAX_EVENT_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  UPSTREAM_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  PASSTHROUGH_MAX_IN_FLIGHT: z.coerce.number().int().positive().default(64),
  MAX_CONTINUATIONS: z.coerce.number().int().min(0).default(0),
  MAX_CONTINUATIONS_LIMIT: z.coerce.number().int().min(0).default(20),
  PREFILL_CAPABILITY_TTL_MS: positiveMs(3_600_000),
  PREFILL_CAPABILITY_MAX_ENTRIES: z.coerce.number().int().positive().default(10_000),
  RESUME_ATTEMPTS: z.coerce.number().int().min(0).max(10).default(1),
  THINK_TAGS: z.string().default('<think>,</think>'),
  UPSTREAM_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  UPSTREAM_RETRY_BASE_MS: z.coerce.number().int().min(0).default(250),
  UPSTREAM_RETRY_MAX_DELAY_MS: z.coerce.number().int().min(0).default(8000),
  UPSTREAM_KEY_FROM_CLIENT: z.enum(['true', 'false']).default('false'),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  CONFIG_FILE: z.string().optional(),
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key]?.trim();
    if (value) cleaned[key] = value;
  }
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  let url = e.UPSTREAM_URL ? new URL(e.UPSTREAM_URL) : undefined;
  if (url && (url.username || url.password)) {
    throw new ConfigError('Invalid configuration:\n  UPSTREAM_URL: put credentials in UPSTREAM_API_KEY, not in the URL');
  }
  let provider: ProviderId;
  let providerSource: UpstreamConfig['providerSource'];
  if (e.UPSTREAM_PROVIDER) {
    provider = e.UPSTREAM_PROVIDER;
    providerSource = 'UPSTREAM_PROVIDER';
  } else if (url) {
    const inferred = inferProvider(url);
    provider = inferred ?? 'openai-compatible';
    providerSource = inferred ? 'inferred' : 'default';
  } else {
    provider = 'mock';
    providerSource = 'default';
  }
  let aws: UpstreamConfig['aws'];
  if (provider === 'bedrock') {
    // The region's endpoint when no URL is given; signed with the AWS variables' credentials, or a Bedrock API key.
    const bedrock = bedrockSettings(url, {}, awsFromEnv(env), Boolean(e.UPSTREAM_API_KEY) || e.UPSTREAM_KEY_FROM_CLIENT === 'true', { url: 'UPSTREAM_URL', keys: 'AWS_*' });
    if ('problem' in bedrock) throw new ConfigError(`Invalid configuration:\n  ${bedrock.problem}`);
    ({ url, aws } = bedrock);
  }
  // Some providers have one public endpoint (Gemini): their URL may be left out.
  const defaultUrl = providerFor(provider).defaultBaseUrl;
  if (provider !== 'mock' && !url && !defaultUrl) {
    throw new ConfigError(`Invalid configuration:\n  UPSTREAM_URL: required for UPSTREAM_PROVIDER=${provider}`);
  }
  let thinkTags: ThinkTags;
  try {
    thinkTags = parseThinkTags(e.THINK_TAGS);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  THINK_TAGS: ${(err as Error).message}`);
  }
  const upstreamUrl = url ?? (defaultUrl ? new URL(defaultUrl) : undefined);
  const split = upstreamUrl && provider !== 'mock' ? splitUpstreamUrl(upstreamUrl) : { origin: undefined, basePath: '' };
  const normalize = providerFor(provider).normalizeBasePath;
  if (normalize) split.basePath = normalize(split.basePath);
  const config: Omit<Config, 'routing'> = {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    prefillMode: e.PREFILL_MODE,
    prefillFallback: e.PREFILL_FALLBACK,
    proxyApiKeys: (e.PROXY_API_KEYS ?? '')
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key.length > 0),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    maxJsonDepth: e.MAX_JSON_DEPTH,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    limits: { maxEventBytes: e.UPSTREAM_MAX_EVENT_BYTES, maxBodyBytes: e.UPSTREAM_MAX_BODY_BYTES },
    passthroughMaxInFlight: e.PASSTHROUGH_MAX_IN_FLIGHT,
    maxContinuations: e.MAX_CONTINUATIONS,
    maxContinuationsLimit: e.MAX_CONTINUATIONS_LIMIT,
    prefillCapability: { ttlMs: e.PREFILL_CAPABILITY_TTL_MS, maxEntries: e.PREFILL_CAPABILITY_MAX_ENTRIES },
    resumeAttempts: e.RESUME_ATTEMPTS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    thinkTags,
    upstream: {
      provider,
      providerSource,
      origin: split.origin,
      basePath: split.basePath,
      apiKey: e.UPSTREAM_API_KEY,
      keyFromClient: e.UPSTREAM_KEY_FROM_CLIENT === 'true',
      ...(aws ? { aws } : {}),
      retry: { retries: e.UPSTREAM_RETRIES, baseDelayMs: e.UPSTREAM_RETRY_BASE_MS, maxDelayMs: e.UPSTREAM_RETRY_MAX_DELAY_MS },
      connectTimeoutMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.UPSTREAM_BODY_TIMEOUT_MS,
      keepAliveMs: e.UPSTREAM_KEEP_ALIVE_MS,
    },
  };
  const routing = e.CONFIG_FILE ? routingFromFile(e.CONFIG_FILE, env, config) : routingFromEnv(config.upstream);
  return { ...config, routing };
}

function routingFromEnv(upstream: UpstreamConfig): Routing {
  return { upstreams: [{ ...upstream, name: 'default' }], models: [], defaultUpstream: 'default', source: 'environment' };
}

function routingFromFile(path: string, env: NodeJS.ProcessEnv, config: Omit<Config, 'routing'>): Routing {
  let file: ConfigFile;
  try {
    file = readConfigFile(path, env);
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ConfigError(`Invalid configuration file:\n  ${err.message.split('\n').join('\n  ')}`);
    throw err;
  }
  const upstreams: UpstreamSpec[] = Object.entries(file.upstreams).map(([name, entry]) => {
    const bedrock = entry.provider === 'bedrock' ? bedrockFromFile(name, entry, env, path) : undefined;
    const entryUrl = bedrock?.url.href ?? entry.url ?? providerFor(entry.provider).defaultBaseUrl;
    const split = entryUrl && entry.provider !== 'mock' ? splitUpstreamUrl(new URL(entryUrl)) : { origin: undefined, basePath: '' };
    const normalize = providerFor(entry.provider).normalizeBasePath;
    return {
      name,
      provider: entry.provider,
      providerSource: 'UPSTREAM_PROVIDER',
      origin: split.origin,
      basePath: normalize ? normalize(split.basePath) : split.basePath,
      apiKey: entry.api_key || undefined,
      keyFromClient: entry.use_client_key,
      ...(bedrock ? { aws: bedrock.aws } : {}),
      retry: { ...config.upstream.retry, retries: entry.retries ?? config.upstream.retry.retries },
      connectTimeoutMs: entry.timeouts?.connect_ms ?? config.upstream.connectTimeoutMs,
      headersTimeoutMs: entry.timeouts?.headers_ms ?? config.upstream.headersTimeoutMs,
      bodyTimeoutMs: entry.timeouts?.body_ms ?? config.upstream.bodyTimeoutMs,
      keepAliveMs: entry.timeouts?.keep_alive_ms ?? config.upstream.keepAliveMs,
      prefillMode: entry.prefill_mode,
      prefillFallback: entry.prefill_fallback,
      thinkTags: entry.think_tags ? { open: entry.think_tags[0], close: entry.think_tags[1] } : undefined,
      maxContinuations: entry.max_continuations,
      resumeAttempts: entry.resume_attempts,
    };
  });
  const models: ModelSpec[] = file.models.map((entry) => ({
    name: entry.name,
    pattern: globToRegExp(entry.name),
    upstream: entry.upstream,
    upstreamModel: entry.upstream_model,
    aliases: entry.aliases,
    supportsAssistantPrefill: entry.supports_assistant_prefill,
    prefillMode: entry.prefill_mode,
    prefillFallback: entry.prefill_fallback,
    thinkTags: entry.think_tags ? { open: entry.think_tags[0], close: entry.think_tags[1] } : undefined,
    maxContinuations: entry.max_continuations,
    resumeAttempts: entry.resume_attempts,
    fallbacks: entry.fallbacks,
  }));
  const defaultUpstream = file.default_upstream ?? (upstreams.length === 1 ? upstreams[0]!.name : undefined);
  return { upstreams, models, defaultUpstream, source: path };
}

/** A Bedrock upstream of the config file: its URL (the region's endpoint when none is given) and signing. */
function bedrockFromFile(name: string, entry: ConfigFile['upstreams'][string], env: NodeJS.ProcessEnv, path: string): { url: URL; aws: NonNullable<UpstreamConfig['aws']> } {
  const own = { region: entry.aws_region, accessKeyId: entry.aws_access_key_id, secretAccessKey: entry.aws_secret_access_key, sessionToken: entry.aws_session_token };
  const hasKey = Boolean(entry.api_key) || entry.use_client_key;
  const settings = bedrockSettings(entry.url ? new URL(entry.url) : undefined, own, awsFromEnv(env), hasKey, { url: `upstreams.${name}.url`, keys: `upstreams.${name}` });
  if ('problem' in settings) throw new ConfigError(`Invalid configuration file:\n  ${path}: ${settings.problem}`);
  return settings;
}
