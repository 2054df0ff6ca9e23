import type { RequestTelemetry } from '../pipeline/telemetry.js';
import type { DoorId } from '../pipeline/types.js';
import type { ClientGone } from '../upstream/client-gone.js';

/** What the app puts on every Fastify request and route for the doors. */
declare module 'fastify' {
  interface FastifyRequest {
    /** The request's JSON body as received, forwarded untouched when nothing needs rewriting. */
    rawBody: Buffer | null;
    /** What this request did, for its metrics and log line. */
    telemetry: RequestTelemetry;
    /** Fires when the client goes away before its response is complete (aborts the upstream request). */
    clientGone: ClientGone;
  }
  interface FastifyContextConfig {
    /** The front door a route belongs to: errors on it are written in that door's shape. */
    door?: DoorId;
  }
}

export {};
