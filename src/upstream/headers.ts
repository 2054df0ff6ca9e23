import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamHeaders } from './types.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded, plus the
 * headers the proxy sets itself. Client credentials are never forwarded: the upstream gets the
 * configured upstream key instead.
 */
const NOT_FORWARDED_TO_UPSTREAM = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'authorization',
  'x-api-key',
  'cookie',
  'x-prefill-mode',
  // The proxy reads answers it may rewrite; ask for them uncompressed.
  'accept-encoding',
  'expect',
]);

const NOT_FORWARDED_TO_CLIENT = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
  'date',
]);

export function upstreamRequestHeaders(clientHeaders: IncomingHttpHeaders): Record<string, string> {
  const connectionListed = listedInConnection(clientHeaders.connection);
  const out: Record<string, string> = {};
  for (const name in clientHeaders) {
    if (NOT_FORWARDED_TO_UPSTREAM.has(name) || connectionListed?.has(name)) continue;
    const value = clientHeaders[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Upstream response headers worth passing on (content-length is set by whoever writes the body). */
export function clientResponseHeaders(upstreamHeaders: UpstreamHeaders): Record<string, string | string[]> {
  const connectionListed = listedInConnection(upstreamHeaders.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in upstreamHeaders) {
    if (NOT_FORWARDED_TO_CLIENT.has(name) || connectionListed?.has(name)) continue;
    const value = upstreamHeaders[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function listedInConnection(value: string | string[] | undefined): Set<string> | undefined {
  // The usual values name no other header: skip the parse.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(text.split(',').map((token) => token.trim().toLowerCase()));
}
