import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import type { MockServer } from '../mocks/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The proxy as users run it: its own process, from the sources. */
async function spawnProxy(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}: ${seen}`)));
  });
  return { child, url, exited };
}

let upstream: MockServer | undefined;
let proxyProcess: ChildProcess | undefined;
afterEach(async () => {
  proxyProcess?.kill('SIGKILL');
  await upstream?.close();
});

describe('graceful shutdown', () => {
  it('on SIGTERM: /ready says 503, in-flight streams finish, new connections are refused, exit 0', async () => {
    upstream = await startLlamaCpp({ tokenDelayMs: 150 });
    const proxy = await spawnProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', SHUTDOWN_DELAY_MS: '400', SHUTDOWN_GRACE_MS: '10000' });
    proxyProcess = proxy.child;

    const client = new Client(proxy.url);
    const probe = new Client(proxy.url);
    expect((await probe.request({ method: 'GET', path: '/ready' })).statusCode).toBe(200);

    const stream = await client.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Once' }] }),
    });
    const chunks: string[] = [];
    const done = (async () => {
      for await (const chunk of stream.body) chunks.push(chunk.toString());
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalledAt = Date.now();
    proxy.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const ready = await probe.request({ method: 'GET', path: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(await ready.body.json()).toEqual({ status: 'draining' });

    await done;
    expect(chunks.join('')).toContain('data: [DONE]');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(fetch(`${proxy.url}/health`)).rejects.toThrow();
    expect(await proxy.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    await client.close().catch(() => undefined);
    await probe.close().catch(() => undefined);
  }, 30_000);

  it('a stream that outlives SHUTDOWN_GRACE_MS is cut, and the process still exits 0 in time', async () => {
    upstream = await startLlamaCpp({ tokenDelayMs: 5000 });
    const proxy = await spawnProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', SHUTDOWN_GRACE_MS: '500' });
    proxyProcess = proxy.child;
    const client = new Client(proxy.url);
    const stream = await client.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Once' }] }),
    });
    const reading = (async () => {
      let text = '';
      for await (const chunk of stream.body) text += chunk.toString();
      return text;
    })().catch(() => 'cut');
    const signalledAt = Date.now();
    proxy.child.kill('SIGINT');
    expect(await proxy.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(3000);
    expect(await reading).not.toContain('[DONE]');
    await client.close().catch(() => undefined);
  }, 30_000);
});
