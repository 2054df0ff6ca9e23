import { Pool } from 'undici';
import type { Upstream, UpstreamRequest, UpstreamResponse } from './types.js';

/** Timeouts of an upstream's connection pool. */
export interface PoolSettings {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/**
 * One keep-alive undici pool per upstream origin. undici's `request` (not `fetch`) keeps the hot path
 * free of WHATWG stream wrappers; its timeouts are mapped to 504 in errors.ts.
 */
export class HttpUpstream implements Upstream {
  readonly description: string;
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(config: PoolSettings & { origin: string; basePath: string; connections?: number }) {
    this.basePath = config.basePath;
    this.description = `${config.origin}${config.basePath}`;
    this.pool = new Pool(config.origin, {
      connections: config.connections ?? 256,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: config.connectTimeoutMs },
      headersTimeout: config.headersTimeoutMs,
      bodyTimeout: config.bodyTimeoutMs,
    });
  }

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const response = await this.pool.request({
      method: request.method as 'GET',
      path: this.basePath + request.path,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal,
    });
    return { statusCode: response.statusCode, headers: response.headers, body: response.body };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
