/**
 * Class 12 — `npm start` passes SIGTERM on. Container runtimes and process managers signal the
 * process they started; with `npm start` that is npm, and the node process serving requests must
 * get the signal too (and exit), or it is left running without a parent until it is killed.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, sleep, startUpstream, type RecordingUpstream } from './support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(() => {
  if (!existsSync(`${root}dist/main.js`)) execSync('npm run build', { cwd: root, stdio: 'ignore' });
}, 60_000);

/** The process's children, read from /proc (every thread's list). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf(queue.shift()!)) {
      all.push(child);
      queue.push(child);
    }
  }
  return all;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

let upstream: RecordingUpstream | undefined;
let npm: ChildProcess | undefined;
let tree: number[] = [];
afterEach(async () => {
  // Only what this test started: npm and the processes found under it.
  for (const pid of [npm?.pid, ...tree]) {
    if (pid !== undefined && alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  npm = undefined;
  tree = [];
  await upstream?.close();
  upstream = undefined;
});

describe('npm start passes SIGTERM on', () => {
  it('SIGTERM to the npm process: within 5 s no process of its tree is left (the node child exits too)', async () => {
    upstream = await startUpstream((_request, res) => sendJson(res, 200, { status: 'ok' }));
    // Port 0, read back from the start-up line: a port picked free beforehand can be taken by another
    // test file's server before npm start binds it (test files run in parallel).
    npm = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout!.on('data', (data: Buffer) => (output += data.toString()));
    npm.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    const npmExited = new Promise<void>((resolve) => npm!.once('exit', () => resolve()));

    const deadline = Date.now() + 15_000;
    let port: string | undefined;
    while (Date.now() < deadline && !port) {
      port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1];
      if (!port) await sleep(100);
    }
    expect(port, `npm start did not log the address it listens on: ${output}`).toBeDefined();
    let healthy = false;
    while (Date.now() < deadline && !healthy) {
      healthy = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (!healthy) await sleep(100);
    }
    expect(healthy, `npm start did not serve /health: ${output}`).toBe(true);

    tree = descendantsOf(npm.pid!);
    const nodeChildren = tree.filter((pid) => commandLine(pid).includes('dist/main.js'));
    expect(nodeChildren.length, `no node process running dist/main.js under npm: ${tree.map((pid) => `${pid}: ${commandLine(pid)}`).join('; ')}`).toBeGreaterThan(0);

    npm.kill('SIGTERM');
    const until = Date.now() + 5000;
    while (Date.now() < until && [npm.pid!, ...tree].some(alive)) await sleep(100);
    await Promise.race([npmExited, sleep(100)]);
    const left = [npm.pid!, ...tree].filter(alive).map((pid) => `${pid}: ${commandLine(pid)}`);
    expect(left, `processes still running 5 s after SIGTERM to npm: ${left.join('; ')}`).toEqual([]);
  }, 30_000);
});
