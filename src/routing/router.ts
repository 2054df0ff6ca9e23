import type { Config, ModelSpec, PrefillFallback, Routing, UpstreamSpec } from '../config/types.js';
import type { PrefillMode } from '../prefill/detect.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import { CapabilityMemory } from '../providers/capability-memory.js';
import { providerFor, type Provider } from '../providers/index.js';
import type { Upstream } from '../upstream/types.js';

/** An upstream ready for requests: its configuration, its dialect and its connection pool. */
export interface Target {
  spec: UpstreamSpec;
  provider: Provider;
  client: Upstream;
  /** Passthrough routes' own connection pool, so they can never take the chat routes' connections. */
  passthrough: Upstream;
  /** What the provider learned about this upstream at run time (a llama.cpp server's template). */
  memory: CapabilityMemory<unknown>;
}

/** How long a provider's findings about a server are trusted (a restarted server may differ). */
const SERVER_FACTS_TTL_MS = 5 * 60_000;

/** Where one request goes, and under which settings. */
export interface Route {
  target: Target;
  model: ModelSpec | undefined;
  /** The model name to send upstream, when it differs from the client's. */
  upstreamModel: string | undefined;
  /** A bounded name for metrics: the matching entry, never the raw client input. */
  label: string;
  mode: PrefillMode;
  fallback: PrefillFallback;
  thinkTags: ThinkTags;
  supportsAssistantPrefill: boolean | undefined;
  /** Calls that may continue an answer cut by the output limit (model, upstream, environment). */
  maxContinuations: number;
  /** Times a broken answer may be resumed (model, upstream, environment). */
  resumeAttempts: number;
  /** Model names to try when this route's upstream fails. */
  fallbacks: string[];
}

/**
 * Model routing: exact name, then alias, then `upstream/model` (or `provider/model`) prefix, then
 * wildcard entries in file order, then the default upstream. Nothing matches: undefined (a 404).
 */
export class Router {
  readonly targets = new Map<string, Target>();
  readonly defaultTarget: Target;
  private readonly exact = new Map<string, ModelSpec>();
  private readonly patterns: ModelSpec[] = [];

  constructor(
    private readonly config: Config,
    readonly routing: Routing,
    clientFor: (spec: UpstreamSpec, use: 'chat' | 'passthrough') => Upstream,
  ) {
    for (const spec of routing.upstreams) {
      this.targets.set(spec.name, {
        spec,
        provider: providerFor(spec.provider),
        client: clientFor(spec, 'chat'),
        passthrough: clientFor(spec, 'passthrough'),
        memory: new CapabilityMemory(SERVER_FACTS_TTL_MS, 64),
      });
    }
    for (const model of routing.models) {
      if (model.pattern) this.patterns.push(model);
      else this.exact.set(model.name, model);
      for (const alias of model.aliases) this.exact.set(alias, model);
    }
    this.defaultTarget = this.targets.get(routing.defaultUpstream ?? routing.upstreams[0]!.name)!;
  }

  resolve(model: string | undefined): Route | undefined {
    if (model === undefined) return this.route(this.defaultTarget, undefined, undefined, 'default');
    const entry = this.exact.get(model);
    if (entry) return this.route(this.targets.get(entry.upstream)!, entry, entry.upstreamModel, entry.name);
    const slash = model.indexOf('/');
    if (slash > 0) {
      const head = model.slice(0, slash);
      const target = this.targets.get(head) ?? [...this.targets.values()].find((candidate) => candidate.provider.id === head);
      if (target) return this.route(target, undefined, model.slice(slash + 1), `${target.spec.name}/*`);
    }
    for (const pattern of this.patterns) {
      if (pattern.pattern!.test(model)) return this.route(this.targets.get(pattern.upstream)!, pattern, pattern.upstreamModel, pattern.name);
    }
    if (this.routing.defaultUpstream !== undefined || this.routing.models.length === 0) {
      return this.route(this.defaultTarget, undefined, undefined, `${this.defaultTarget.spec.name}/*`);
    }
    return undefined;
  }

  /** The settings of a configured model (for /v1/model/info), as a request for it would get them. */
  describe(model: ModelSpec): Route {
    return this.route(this.targets.get(model.upstream)!, model, model.upstreamModel, model.name);
  }

  private route(target: Target, model: ModelSpec | undefined, upstreamModel: string | undefined, label: string): Route {
    const spec = target.spec;
    return {
      target,
      model,
      upstreamModel,
      label,
      mode: model?.prefillMode ?? spec.prefillMode ?? this.config.prefillMode,
      fallback: model?.prefillFallback ?? spec.prefillFallback ?? this.config.prefillFallback,
      thinkTags: model?.thinkTags ?? spec.thinkTags ?? this.config.thinkTags,
      supportsAssistantPrefill: model?.supportsAssistantPrefill,
      maxContinuations: model?.maxContinuations ?? spec.maxContinuations ?? this.config.maxContinuations,
      resumeAttempts: model?.resumeAttempts ?? spec.resumeAttempts ?? this.config.resumeAttempts,
      fallbacks: model?.fallbacks ?? [],
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].flatMap((target) => [target.client.close(), target.passthrough.close()]));
  }
}
