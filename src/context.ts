import type { Logger } from 'pino';
import type { Config } from './config/env.js';
import type { Provider } from './providers/types.js';
import type { Upstream } from './upstream/types.js';

/** What the routes share: configuration, the upstream dialect and where its requests go. */
export interface AppContext {
  config: Config;
  provider: Provider;
  upstream: Upstream;
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
    streamError: string | null;
  }
}
