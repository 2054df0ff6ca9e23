import type { Logger } from 'pino';
import type { Config } from './config/env.js';
import type { Metrics } from './metrics.js';
import type { Router } from './routing/router.js';

/** What the routes share: configuration, the upstreams and the routing to them. */
export interface AppContext {
  config: Config;
  router: Router;
  metrics: Metrics;
  state: { draining: boolean };
  /** The process's logger; request log lines carry the request id as `reqId`. */
  log: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's JSON body as received, forwarded untouched when nothing needs rewriting. */
    rawBody: Buffer | null;
    chatModel: string | null;
    prefillKind: 'native' | 'emulated' | 'none' | null;
    /** The route's metric label and provider, once known. */
    routeLabel: string | null;
    providerId: string | null;
    streamError: string | null;
  }
}
