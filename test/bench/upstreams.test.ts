/**
 * The bench's own servers do what its figures assume: the llama.cpp-like mock closes the connection
 * after every stream (as llama-server does) and says so, and keeps it after a whole answer; the
 * pipe in front of it does not pass that close on to its client (a hop-by-hop header).
 * Nothing here is timed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

async function start(script: string, env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening (\d+)/.exec(seen);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

const body = (stream: boolean) => JSON.stringify({ model: 'bench', stream, messages: [{ role: 'user', content: 'hi' }] });

/** Two streams then two whole answers on one client: the response headers and how many connections it took. */
async function exchange(port: number): Promise<{ connections: number; headers: Array<string | string[] | undefined> }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  let connections = 0;
  client.on('connect', () => connections++);
  const headers: Array<string | string[] | undefined> = [];
  for (const stream of [true, true, false, false]) {
    const response = await client.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: body(stream) });
    const text = await response.body.text();
    expect(response.statusCode).toBe(200);
    expect(text).toContain(stream ? 'data: [DONE]' : '"chat.completion"');
    headers.push(response.headers.connection);
  }
  await client.close();
  return { connections, headers };
}

let closing = 0;
let keepAlive = 0;
let pipe = 0;
beforeAll(async () => {
  closing = await start('bench/upstream.mjs', { CLOSE_AFTER_STREAM: '1' });
  keepAlive = await start('bench/upstream.mjs', {});
  pipe = await start('bench/pipe-proxy.mjs', { UPSTREAM_PORT: String(closing) });
});
afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

describe('the bench upstreams', () => {
  it('the llama.cpp-like mock closes after each stream, saying so, and keeps the connection after a whole answer', async () => {
    const { connections, headers } = await exchange(closing);
    expect(headers).toEqual(['close', 'close', 'keep-alive', 'keep-alive']);
    // A new connection for the second stream and for the first whole answer; the second reuses it.
    expect(connections).toBe(3);
  });

  it('the default mock keeps every connection', async () => {
    const { connections, headers } = await exchange(keepAlive);
    expect(headers).toEqual(['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive']);
    expect(connections).toBe(1);
  });

  it("the pipe does not pass the upstream's Connection: close on to its client", async () => {
    const { connections, headers } = await exchange(pipe);
    expect(headers).toEqual(['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive']);
    expect(connections).toBe(1);
  });
});
