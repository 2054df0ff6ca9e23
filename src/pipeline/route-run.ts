import type { RequestSecrets } from '../auth/secrets.js';
import type { UpstreamLimits } from '../config/types.js';
import { ProxyError } from '../errors.js';
import type { CapabilityMemory } from '../providers/capability-memory.js';
import type { CancelSignal } from '../upstream/client-gone.js';
import type { CallContext } from './call.js';
import { capabilityKey } from './plan.js';
import type { RequestTelemetry } from './telemetry.js';
import type { Prepared } from './types.js';

/** What one request's run needs besides the request: its client, telemetry and the app's bounds. */
export interface RunEnvironment {
  signal: CancelSignal;
  telemetry: RequestTelemetry;
  limits: UpstreamLimits;
  secrets: RequestSecrets;
  /** Where live streams register, so a shutdown can end them with an error event. */
  streams: Set<{ shutdown(): void }>;
  /** Models learned to refuse prefill. */
  learned: CapabilityMemory<boolean>;
  /** The same request prepared for another model (a configured fallback), or undefined if none resolves. */
  prepareFor(model: string): Prepared | undefined;
}

/** A request on one route: its prepared form and the context of its calls. */
export interface RouteRun {
  prepared: Prepared;
  call: CallContext;
}

/** The context of calls on a prepared request's route. */
export function routeRun(prepared: Prepared, env: RunEnvironment): RouteRun {
  const { signal, telemetry, limits, secrets } = env;
  const { provider, client, spec, memory } = prepared.route.target;
  const call: CallContext = {
    provider,
    upstream: client,
    settings: prepared.settings,
    headers: prepared.upstreamHeaders,
    signal,
    retry: spec.retry,
    telemetry,
    stream: prepared.request.options.stream,
    memory,
    limits,
    secrets,
    streams: env.streams,
    learned: { memory: env.learned, key: capabilityKey(spec.name, prepared.chat.model) },
  };
  return { prepared, call };
}

/** The configured fallback models of a request, taken in order, each once. */
export class Fallbacks {
  /** The models not tried yet (copied at the first failure: most requests never fail). */
  private left: string[] | undefined;

  constructor(
    private readonly prepared: Prepared,
    private readonly env: RunEnvironment,
  ) {}

  /** The next route to try after `err`, when it is a failure a fallback can help with. */
  after(err: unknown): RouteRun | undefined {
    if (!worthAFallback(err) || this.env.signal.aborted) return undefined;
    const left = (this.left ??= [...this.prepared.route.fallbacks]);
    while (left.length > 0) {
      const model = left.shift()!;
      let prepared: Prepared | undefined;
      try {
        prepared = this.env.prepareFor(model);
      } catch {
        prepared = undefined;
      }
      if (!prepared) continue;
      // A fallback that cannot take the whole request (a part only the door's format carries) is
      // passed over: the client gets the failure rather than an answer to part of its request.
      const refused = prepared.request.refuseRoute?.(prepared);
      if (refused) {
        this.env.telemetry.passedOver(model, refused);
        continue;
      }
      this.env.telemetry.fellBack(model, err as ProxyError);
      return routeRun(prepared, this.env);
    }
    return undefined;
  }
}

/** The upstream failed as a whole (unreachable, overloaded, broken), not the request: another may answer. */
function worthAFallback(err: unknown): boolean {
  if (!(err instanceof ProxyError)) return false;
  if (err.code === 'client_closed_request' || err.code === 'server_shutting_down') return false;
  return err.status === 429 || err.status >= 500;
}
