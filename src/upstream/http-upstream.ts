import { Pool } from 'undici';
import type { Upstream, UpstreamRequest, UpstreamResponse } from './types.js';

/** Timeouts of an upstream's connection pool. */
export interface PoolSettings {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Longest an idle pooled connection is kept (an upstream's shorter `Keep-Alive: timeout` hint wins). */
  keepAliveMs: number;
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
      // Idle connections are dropped before the upstream drops them: a request written on a connection
      // the upstream is closing fails without an answer, and a POST that may have reached the model is
      // not sent again. undici keeps a connection for the upstream's `Keep-Alive: timeout` hint minus
      // 2 s (llama.cpp: 5 s → 3 s), else for keepAliveMs; uvicorn (vLLM) and Node close idle ones
      // after 5 s without a hint, hence 4 s by default.
      keepAliveTimeout: config.keepAliveMs,
      keepAliveMaxTimeout: config.keepAliveMs,
      connect: { timeout: config.connectTimeoutMs },
      headersTimeout: config.headersTimeoutMs,
      bodyTimeout: config.bodyTimeoutMs,
    });
  }

  request(request: UpstreamRequest): Promise<UpstreamResponse> {
    // undici's answer is the UpstreamResponse itself (status, headers, body): no wrapper on the hot path.
    return this.pool.request({
      method: request.method as 'GET',
      path: this.basePath + request.path,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal,
      reset: request.reset,
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
