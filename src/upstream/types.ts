import type { Readable } from 'node:stream';
import type { CancelSignal } from './client-gone.js';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamRequest {
  method: string;
  /** Path below the upstream's base path, with any query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer | Readable | null;
  signal?: CancelSignal | AbortSignal;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: UpstreamHeaders;
  body: Readable;
}

/** Where requests go: an HTTP origin through an undici pool, or the built-in mock. */
export interface Upstream {
  /** A description safe to log: origin and base path, never credentials. */
  readonly description: string;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
