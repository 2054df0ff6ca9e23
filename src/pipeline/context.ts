import type { Logger } from 'pino';
import type { Secrets } from '../auth/secrets.js';
import type { Config } from '../config/types.js';
import type { CapabilityMemory } from '../providers/capability-memory.js';
import type { Router } from '../routing/router.js';
import type { Metrics } from '../telemetry/metrics.js';

/** What the doors and the pipeline share: configuration, the upstreams and the routing to them. */
export interface AppContext {
  config: Config;
  router: Router;
  metrics: Metrics;
  /** `draining` once shutdown began; passthrough requests in flight. */
  state: { draining: boolean; passthroughInFlight: number };
  /** The process's logger; request log lines carry the request id as `reqId`. */
  log: Logger;
  /** Keys that must never reach a client. */
  secrets: Secrets;
  /** Models learned to refuse prefill, per upstream (PREFILL_CAPABILITY_TTL_MS, _MAX_ENTRIES). */
  prefillCapabilities: CapabilityMemory<boolean>;
  /** Streams being answered, ended with an error event if the process must stop before they finish. */
  streams: Set<{ shutdown(): void }>;
}
