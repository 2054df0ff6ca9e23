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
  /**
   * Close the connection after this exchange rather than keep it for the next request: for an upstream
   * that closes it itself, unannounced, after a streamed answer (llama.cpp), where the next request
   * written on it would meet the close and fail.
   */
  reset?: boolean;
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
