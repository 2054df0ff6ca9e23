import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Router } from '../routing/router.js';
import type { Metrics } from '../telemetry/metrics.js';

/** What the doors and the pipeline share: configuration, the upstreams and the routing to them. */
export interface AppContext {
  config: Config;
  router: Router;
  metrics: Metrics;
  state: { draining: boolean };
  /** The process's logger; request log lines carry the request id as `reqId`. */
  log: Logger;
}
