/**
 * Class 3 — auth on every method. `/health`, `/ready` and `/metrics` are open for GET and HEAD only;
 * any other method on them, and every method on every other path, needs a key when PROXY_API_KEYS is
 * set — and a request refused for want of a key never reaches the upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { completion, errorOf, isOpenAIError, portOf, rawRequest, sendJson, startUpstream, type RecordingUpstream } from './support.js';

let upstream: RecordingUpstream;
let proxy: RunningProxy;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream((_request, res) => sendJson(res, 200, completion()));
  proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', PROXY_API_KEYS: 'k1' });
  port = portOf(proxy.url);
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function send(method: string, target: string, headers: Record<string, string> = {}) {
  const body = WITH_BODY.has(method) ? '{}' : '';
  const lines = [`${method} ${target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  if (body) lines.push('content-type: application/json', `content-length: ${body.length}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return rawRequest(port, `${lines.join('\r\n')}\r\n\r\n${body}`, { head: method === 'HEAD', timeoutMs: 3000 });
}

describe('auth on every method', () => {
  it('POST/PUT/DELETE/PATCH/OPTIONS on /health, /ready, /metrics without a key: 401 or 405 (allow: GET, HEAD), never forwarded', async () => {
    const before = upstream.started.length;
    const problems: string[] = [];
    const targets = ['/health', '/ready', '/metrics', '/health?x=1', '/metrics?', '/ready/', '/metrics/'];
    for (const target of targets) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const response = await send(method, target);
        const label = `${method} ${target}`;
        if (!response) {
          problems.push(`${label}: no answer`);
          continue;
        }
        if (response.status !== 401 && response.status !== 405) {
          problems.push(`${label}: ${response.status}`);
          continue;
        }
        if (response.status === 405) {
          const allow = (response.headers.allow ?? '').split(',').map((token) => token.trim().toUpperCase()).sort();
          if (allow.join(',') !== 'GET,HEAD') problems.push(`${label}: 405 with allow "${response.headers.allow ?? ''}"`);
        }
        if (!isOpenAIError(response.body)) problems.push(`${label}: ${response.status} body not OpenAI-shaped: ${response.body.slice(0, 80)}`);
      }
    }
    const forwarded = upstream.started.slice(before).map((request) => `${request.method} ${request.url}`);
    expect({ problems, forwarded }).toEqual({ problems: [], forwarded: [] });
  });

  it('GET and HEAD on /health, /ready, /metrics still work without a key', async () => {
    const problems: string[] = [];
    for (const target of ['/health', '/ready', '/metrics']) {
      for (const method of ['GET', 'HEAD']) {
        const response = await send(method, target);
        if (response?.status !== 200) problems.push(`${method} ${target}: ${response?.status ?? 'no answer'}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every other route and method without a key (or with a wrong one) is 401 and never reaches the upstream', async () => {
    const before = upstream.started.length;
    const problems: string[] = [];
    const routes = [
      '/v1/chat/completions',
      '/chat/completions',
      '/v1/models',
      '/models',
      '/v1/model/info',
      '/v1/prefill/preview',
      '/v1/embeddings',
      '/v1/completions',
      '/completion',
      '/apply-template',
      '/anything/else',
      '/',
      '/HEALTH',
      '/Metrics',
    ];
    for (const route of routes) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'k1x' }] as Array<Record<string, string>>) {
          const response = await send(method, route, headers);
          const label = `${method} ${route} ${JSON.stringify(headers)}`;
          if (response?.status !== 401) problems.push(`${label}: ${response?.status ?? 'no answer'}`);
          else if (method !== 'HEAD' && errorOf(response.body) === undefined) problems.push(`${label}: 401 body not OpenAI-shaped`);
        }
      }
    }
    const forwarded = upstream.started.slice(before).map((request) => `${request.method} ${request.url}`);
    expect({ problems, forwarded }).toEqual({ problems: [], forwarded: [] });
  });

  it('open paths cannot be used as a way in: dot segments, double slashes and encodings around /health or /metrics are never forwarded without a key', async () => {
    const before = upstream.started.length;
    const problems: string[] = [];
    const targets = [
      '/health/../v1/embeddings',
      '/metrics/..%2Fv1%2Fembeddings',
      '/ready/%2e%2e/v1/models',
      '//health',
      '/health/',
      '/health%2F',
      '/./health',
      '/health;x',
    ];
    for (const target of targets) {
      for (const method of ['GET', 'POST']) {
        const response = await send(method, target);
        // GET may be served by the proxy itself (a normalised /health); POST is refused; nothing is forwarded.
        const allowed = method === 'GET' ? [200, 400, 401, 404, 405] : [400, 401, 405];
        if (!allowed.includes(response?.status ?? 0)) problems.push(`${method} ${target}: ${response?.status ?? 'no answer'}`);
      }
    }
    const forwarded = upstream.started.slice(before).map((request) => `${request.method} ${request.url}`);
    expect({ problems, forwarded }).toEqual({ problems: [], forwarded: [] });
  });

  it('with the key, the same routes work (the refusals above are about the key)', async () => {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k1' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.status).toBe(200);
  });
});
