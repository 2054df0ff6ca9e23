/**
 * Users paste the base URL their provider's docs give, with or without `/v1`
 * (`http://127.0.0.1:8080`, `https://api.mistral.ai/v1`, `https://gw.example.com/llama/v1`).
 * The proxy keeps any path prefix (for gateways that mount a provider under a path) and adds the
 * provider's own paths, which start with `/v1` where the provider has one.
 */
export function splitUpstreamUrl(url: URL): { origin: string | undefined; basePath: string } {
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1')) path = path.slice(0, -3);
  return { origin: url.origin, basePath: path };
}
