import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServer, startSse, writeEvent, type MockServer } from '../mocks/server.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const UPSTREAM_KEY = 'sk-upstream-7f3a9c1e5b';
const CLIENT_KEY = 'sk-client-2d8e4b6a0c';

/** Runs requests that succeed, fail upstream and fail mid-stream, at debug level, and reads every log line. */
describe('secrets never reach logs, errors or responses', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  const lines: string[] = [];
  const responses: string[] = [];

  beforeAll(async () => {
    upstream = await startMockServer(async (request, res) => {
      const body = request.json as { model?: string } | undefined;
      if (body?.model === 'fail') {
        res.writeHead(500, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'internal' } }));
      }
      startSse(res);
      writeEvent(res, { choices: [{ index: 0, delta: { content: ' ok' } }] });
      await new Promise((resolve) => setTimeout(resolve, 30));
      res.socket?.destroy();
    });
    proxy = await startProxy(
      { UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_API_KEY: UPSTREAM_KEY, PROXY_API_KEYS: CLIENT_KEY, LOG_LEVEL: 'trace' },
      CLIENT_KEY,
      { write: (line: string) => void lines.push(line) },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('in every case', async () => {
    const send = async (body: object, key = CLIENT_KEY) => {
      const response = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-api-key': key },
        body: JSON.stringify(body),
      });
      responses.push(JSON.stringify([...response.headers]) + (await response.text()));
    };
    const messages = [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }];
    await send({ model: 'fail', messages });
    await send({ model: 'ok', messages, stream: true });
    await send({ model: 'ok', messages }, 'sk-wrong-guess');
    await fetch(`${proxy.url}/whatever`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } }).then((r) => r.text());

    expect(lines.length).toBeGreaterThan(3);
    expect(responses.length).toBe(3);
    const everything = lines.join('\n') + responses.join('\n');
    expect(everything).toContain('Upstream stream failed');
    for (const secret of [UPSTREAM_KEY, CLIENT_KEY, 'sk-wrong-guess']) expect(everything).not.toContain(secret);
    // and the upstream did get its key
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });
});
