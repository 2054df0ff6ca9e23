import type { PrefillMode } from '../prefill/detect.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import type { ProviderId } from '../providers/types.js';
import type { PoolSettings } from '../upstream/http-upstream.js';
import type { AwsCredentials } from '../upstream/signed-upstream.js';
import type { RetryPolicy } from '../upstream/retry.js';

/** The configuration's types: what the environment and the config file turn into. */

export const FALLBACKS = ['emulate', 'reject'] as const;
export type PrefillFallback = (typeof FALLBACKS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What the proxy reads from an upstream at most. */
export interface UpstreamLimits {
  /** One SSE line or event of a stream the proxy reads (larger: the stream ends with an error event). */
  maxEventBytes: number;
  /** A whole answer (or error body) read into memory (larger: 502). */
  maxBodyBytes: number;
}

export interface UpstreamConfig extends PoolSettings {
  provider: ProviderId;
  /** How the provider was chosen, for the start-up log. */
  providerSource: 'UPSTREAM_PROVIDER' | 'inferred' | 'default';
  /** Scheme, host and port; undefined for the built-in mock. */
  origin: string | undefined;
  /** Path prefix kept in front of every upstream path, without a trailing `/v1` or slash. */
  basePath: string;
  apiKey: string | undefined;
  /** Send the client's own key upstream instead of apiKey (each client brings its own). */
  keyFromClient: boolean;
  retry: RetryPolicy;
  /** AWS Signature V4 (Bedrock); set for bedrock upstreams only. */
  aws?: AwsSigning;
}

/** How requests to an AWS upstream are signed: without credentials they are not (a Bedrock API key goes instead). */
export interface AwsSigning {
  /** The signing name (`bedrock`). */
  service: string;
  /** The region to sign for (undefined only when nothing is signed). */
  region: string | undefined;
  /** Keys as configured, AWS's default chain (no keys and no API key configured), or none (an API key goes instead). */
  credentials: AwsCredentials | 'default-chain' | undefined;
}

export interface Config {
  host: string;
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  prefillMode: PrefillMode;
  prefillFallback: PrefillFallback;
  proxyApiKeys: string[];
  /** Largest request body, on every route. */
  bodyLimitBytes: number;
  /** Deepest nesting of arrays and objects in a JSON request body. */
  maxJsonDepth: number;
  /** How long a request's headers and body may take to arrive. */
  requestTimeoutMs: number;
  /** Bounds on what is read from upstreams. */
  limits: UpstreamLimits;
  /** Passthrough requests in flight at once (beyond: 503), so they can never starve the chat routes. */
  passthroughMaxInFlight: number;
  /** Calls that may continue an answer cut by the output limit, when neither model nor upstream says. */
  maxContinuations: number;
  /** The most a request may ask for in `max_continuations`. */
  maxContinuationsLimit: number;
  /** How long a model's refusal of prefill is remembered, and how many such models at most. */
  prefillCapability: { ttlMs: number; maxEntries: number };
  /** Times a broken answer is resumed through a prefill, when neither model nor upstream says. */
  resumeAttempts: number;
  /** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
  shutdownGraceMs: number;
  /** After SIGTERM, how long `/ready` says 503 while new connections are still accepted. */
  shutdownDelayMs: number;
  /** Tags a model wraps its thinking in, for upstreams without a native reasoning field. */
  thinkTags: ThinkTags;
  /** The upstream the environment describes (the one-upstream setup without CONFIG_FILE). */
  upstream: UpstreamConfig;
  /** Upstreams and model routing: from CONFIG_FILE, or the environment's one upstream. */
  routing: Routing;
}

/** One upstream, as configured (from the environment, or an entry of the config file). */
export interface UpstreamSpec extends UpstreamConfig {
  name: string;
  prefillMode?: PrefillMode;
  prefillFallback?: PrefillFallback;
  thinkTags?: ThinkTags;
  maxContinuations?: number;
  resumeAttempts?: number;
}

/** One model entry of the config file. */
export interface ModelSpec {
  /** As written: an exact name, or a pattern with `*`. */
  name: string;
  /** Set for names with `*`. */
  pattern: RegExp | undefined;
  upstream: string;
  upstreamModel?: string;
  aliases: string[];
  supportsAssistantPrefill?: boolean;
  prefillMode?: PrefillMode;
  prefillFallback?: PrefillFallback;
  thinkTags?: ThinkTags;
  maxContinuations?: number;
  resumeAttempts?: number;
  /** Model names tried, in order, when this one fails before its answer began (or its resume fails). */
  fallbacks?: string[];
}

export interface Routing {
  upstreams: UpstreamSpec[];
  models: ModelSpec[];
  /** Where requests for models not listed go; undefined: they are a 404. */
  defaultUpstream: string | undefined;
  /** `environment`, or the config file's path. */
  source: string;
}

