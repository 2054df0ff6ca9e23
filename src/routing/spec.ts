import type { PrefillFallback, UpstreamConfig } from '../config/env.js';
import type { PrefillMode } from '../prefill/detect.js';
import type { ThinkTags } from '../prefill/reasoning.js';

/** One upstream, as configured (from the environment, or an entry of the config file). */
export interface UpstreamSpec extends UpstreamConfig {
  name: string;
  prefillMode?: PrefillMode;
  prefillFallback?: PrefillFallback;
  thinkTags?: ThinkTags;
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
}

export interface Routing {
  upstreams: UpstreamSpec[];
  models: ModelSpec[];
  /** Where requests for models not listed go; undefined: they are a 404. */
  defaultUpstream: string | undefined;
  /** `environment`, or the config file's path. */
  source: string;
}

export function globToRegExp(glob: string): RegExp | undefined {
  if (!glob.includes('*')) return undefined;
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
