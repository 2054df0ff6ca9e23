import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors.js';

/**
 * Checks client keys from PROXY_API_KEYS. Keys are compared as SHA-256 digests with timingSafeEqual,
 * so neither the content nor the length of a key leaks through timing.
 */
export class ClientKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  check(headers: IncomingHttpHeaders): void {
    const presented = presentedKey(headers);
    if (presented === undefined) {
      throw new ProxyError(401, 'Missing API key: send it as "Authorization: Bearer <key>" or "x-api-key".', {
        code: 'missing_api_key',
      });
    }
    const candidate = digest(presented);
    let ok = false;
    for (const known of this.digests) ok = timingSafeEqual(known, candidate) || ok;
    if (!ok) throw new ProxyError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' });
  }
}

/**
 * The key the upstream gets: UPSTREAM_API_KEY, or with UPSTREAM_KEY_FROM_CLIENT the client's own
 * (sent on in the provider's form, e.g. Anthropic's x-api-key), for proxies where each client brings
 * its own upstream account.
 */
export function upstreamKey(upstream: { keyFromClient: boolean; apiKey: string | undefined }, headers: IncomingHttpHeaders): string | undefined {
  return upstream.keyFromClient ? presentedKey(headers) : upstream.apiKey;
}

export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1]!.trim() : undefined;
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
