/**
 * What the bench scripts share: the request they send, starting a server process, and reading its
 * CPU time and memory from /proc.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** The fixed request rate every server is held at for the CPU measure (CPU per request falls as load rises). */
export const CPU_RATE = Number(process.env.BENCH_CPU_RATE ?? 1500);
/**
 * The rate for streams on the llama.cpp-like upstream (closing after each stream): every stream
 * costs a connect and a close there, and at CPU_RATE a proxy's core saturates (it held 1,250–1,350
 * of 1,500), so servers no longer ran at the same rate. Every server on that upstream is held at this one.
 */
export const RECONNECT_RATE = Number(process.env.BENCH_RECONNECT_RATE ?? 1000);
/** The rate a measure is held at: CPU_RATE, or RECONNECT_RATE for streams on the upstream that closes after them. */
export const rateFor = (stream: boolean, closing: boolean) => (stream && closing ? RECONNECT_RATE : CPU_RATE);

/** The pipe in front of the llama.cpp-like upstream (closing after streams): the llama.cpp path's baseline. */
export const LLAMA_PIPE = 'baseline-llama';
/**
 * The pipe a server is compared with: the one in front of the same upstream (the llama.cpp path's
 * proxies and the floor in front of that upstream: the closing one).
 */
export const pipeOf = (name: string) => (name.startsWith('proxy-rewrite') || name === 'floor-llama' ? LLAMA_PIPE : 'baseline');
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

export const prefillBody = (stream: boolean) =>
  JSON.stringify({
    model: 'bench',
    stream,
    max_tokens: 64,
    temperature: 0,
    messages: [
      { role: 'system', content: 'You are a storyteller who writes short, kind stories for children.' },
      { role: 'user', content: 'Tell me a story about a fox who wants to cross a wide river.' },
      { role: 'assistant', content: 'Once upon a time' },
    ],
  });

export interface Service {
  name: string;
  port: number;
  child: ChildProcess;
}

/** The proxy runs as `npm start` runs it (test/unit/runtime-flags.test.ts keeps the two the same). */
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=4', '--no-memory-reducer'];

/** Starts `script` (relative to `cwd`, this checkout by default) and waits for the port it listens on. */
export async function startService(name: string, script: string, env: Record<string, string>, nodeFlags: string[] = [], cwd = root): Promise<Service> {
  const flags = script === 'dist/main.js' ? [...PROXY_NODE_FLAGS, ...nodeFlags] : nodeFlags;
  const child = spawn(process.execPath, [...flags, script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  // A fixed port (a proxy that logs nothing at its level): ready when it answers /health.
  if (env.PORT && env.PORT !== '0') {
    const port = Number(env.PORT);
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return { name, port, child };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} did not answer on port ${port}`);
  }
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening (\d+)/.exec(seen) ?? /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(seen);
      if (match) {
        child.stdout!.off('data', onData);
        // Keep draining stdout (log lines) so the child never blocks on a full pipe.
        child.stdout!.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, port, child };
}

/**
 * The mock upstream (bench/upstream.mjs). `closesAfterStream`: as llama-server does, the llama.cpp
 * path's upstream (and its pipe's) closes the connection after each stream.
 */
export function startUpstream(name: string, closesAfterStream: boolean, events = 20): Promise<Service> {
  return startService(name, 'bench/upstream.mjs', { PORT: '0', SSE_CHUNKS: String(events), ...(closesAfterStream ? { CLOSE_AFTER_STREAM: '1' } : {}) });
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * CPU time (all threads) a process has used so far, in ms: in user space, in the kernel (its system
 * calls, page faults), and in threads other than the main one (V8's collector and compiler, libuv's pool).
 */
export function cpuSplitMs(pid: number): { user: number; system: number; helpers: number } {
  const { user, system } = statTimes(`/proc/${pid}/stat`);
  let helpers = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    try {
      const times = statTimes(`/proc/${pid}/task/${tid}/stat`);
      helpers += times.user + times.system;
    } catch {
      // The thread ended while being read.
    }
  }
  return { user, system, helpers };
}

function statTimes(file: string): { user: number; system: number } {
  // The fields after the command name (which may hold spaces: split after its closing parenthesis).
  const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  return { user: (Number(fields[11]) * 1000) / CLOCK_TICKS, system: (Number(fields[12]) * 1000) / CLOCK_TICKS };
}

/** Load at a fixed rate (CPU_RATE unless told, c=32) for `seconds`: the requests answered and the CPU the process used. */
export async function atFixedRate(port: number, pid: number, stream: boolean, seconds: number, rate = CPU_RATE): Promise<{ usPerRequest: number; systemUsPerRequest: number; helpersUsPerRequest: number; rate: number }> {
  const before = cpuSplitMs(pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: prefillBody(stream),
    connections: 32,
    pipelining: 1,
    overallRate: rate,
    duration: seconds,
  });
  const after = cpuSplitMs(pid);
  const system = after.system - before.system;
  const used = after.user - before.user + system;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const done = result['2xx'];
  return { usPerRequest: (used * 1000) / done, systemUsPerRequest: (system * 1000) / done, helpersUsPerRequest: ((after.helpers - before.helpers) * 1000) / done, rate: done / seconds };
}

/**
 * While CPU per request is measured, the server measured gets a core of its own and everything else
 * (the load generator, the upstream) shares the other: on two shared cores the figure otherwise swings
 * by a quarter from one run to the next, as the processes contend. Off with BENCH_PIN=0, or without
 * taskset or a second core.
 */
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2 && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function setAffinity(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Runs `measure` with `measured` alone on the last core and `others` (and this process) on the rest. */
export async function pinnedWhile<T>(measured: number, others: number[], measure: () => Promise<T>): Promise<T> {
  if (!PIN) return measure();
  const last = os.cpus().length - 1;
  const all = `0-${last}`;
  const rest = last === 1 ? '0' : `0-${last - 1}`;
  setAffinity(measured, String(last));
  for (const pid of [process.pid, ...others]) setAffinity(pid, rest);
  try {
    return await measure();
  } finally {
    for (const pid of [measured, process.pid, ...others]) setAffinity(pid, all);
  }
}

export const pinning = PIN;

/** A port free right now (for a server that cannot report the one it was given). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
