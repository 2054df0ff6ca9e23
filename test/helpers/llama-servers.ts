/**
 * Real llama.cpp servers for tests: find the `llama-server-*` binaries, start one on a free port
 * with the tiny stories260K model, and ask llama.cpp itself for the ground truth of a chat request
 * (`/apply-template` renders the prompt, `/completion` continues it).
 *
 * The binaries are looked up in `LLAMA_SERVER_DIR`, else `../shared/llama` next to the repository.
 * When none is there, suites wrapped in `describeLlama` are skipped with one warning per process,
 * unless `LLAMA_SERVERS_REQUIRED=1`, which turns the absence into a failure.
 *
 * This module has no dependency on the proxy's code, so scripts (`scripts/record-llama-fixtures.ts`)
 * can use it outside vitest too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

// ---------------------------------------------------------------------------------------------
// Paths

/** The repository root (this file is `<root>/test/helpers/llama-servers.ts`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LLAMA_MODEL = path.join(REPO_ROOT, 'test', 'fixtures', 'models', 'stories260K.gguf');
export const LLAMA_THINK_TEMPLATE = path.join(REPO_ROOT, 'test', 'fixtures', 'llamacpp', 'chatml-think.jinja');

/** The builds the suite knows about; any other `llama-server-<suffix>` is listed under its suffix. */
export type KnownLlamaBuild = 'b5640' | 'de3ff81';
export type LlamaBuild = KnownLlamaBuild | (string & {});
export const KNOWN_LLAMA_BUILDS: readonly KnownLlamaBuild[] = ['b5640', 'de3ff81'];
export type LlamaTemplate = 'chatml' | 'think';

export interface LlamaBinaries {
  /** The directory searched (absolute). */
  dir: string;
  /** Executable path per build suffix (`llama-server-b5640` → `b5640`). */
  builds: Partial<Record<KnownLlamaBuild, string>> & Record<string, string | undefined>;
}

function isExecutableFile(file: string): boolean {
  try {
    const st = statSync(file);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Finds the `llama-server-*` binaries (in `LLAMA_SERVER_DIR`, else `<repo>/../shared/llama`). */
export function llamaBinaries(env: NodeJS.ProcessEnv = process.env): LlamaBinaries {
  const dir = path.resolve(REPO_ROOT, env.LLAMA_SERVER_DIR || path.join('..', 'shared', 'llama'));
  const builds: LlamaBinaries['builds'] = {};
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { dir, builds };
  }
  for (const name of names.sort()) {
    const m = /^llama-server-(.+)$/.exec(name);
    if (!m?.[1] || /\.(log|txt|md|json|sh)$/.test(name)) continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) builds[m[1]] = file;
  }
  return { dir, builds };
}

// ---------------------------------------------------------------------------------------------
// Skip or fail when the binaries are absent

/** Set on globalThis so that a module evaluated twice in one process still warns once. */
const WARNED = Symbol.for('prefill-proxy.llama-servers.warned-missing');
/**
 * True when the warning was already given in this test run. Each test file runs in a worker of its
 * own (vitest's forks), so one run is told apart by its parent, the vitest process: the first worker
 * to create the marker file for it warns, the others stay quiet.
 */
const warnedMissing = (): boolean => {
  if ((globalThis as Record<symbol, unknown>)[WARNED] === true) return true;
  try {
    closeSync(openSync(path.join(tmpdir(), `prefill-proxy-llama-warned-${process.ppid}`), 'wx'));
    return false;
  } catch {
    return true;
  }
};
const setWarnedMissing = (): void => {
  (globalThis as Record<symbol, unknown>)[WARNED] = true;
};

function missingBuilds(builds: readonly string[]): { bins: LlamaBinaries; missing: string[] } {
  const bins = llamaBinaries();
  return { bins, missing: builds.filter((b) => !bins.builds[b]) };
}

/**
 * True when every requested build is there (and the model file too). When something is missing:
 * with `LLAMA_SERVERS_REQUIRED=1` it throws; otherwise it warns once per process and returns false.
 */
export function requireLlamaServers(builds: readonly LlamaBuild[] = KNOWN_LLAMA_BUILDS): boolean {
  const { bins, missing } = missingBuilds(builds);
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`no ${missing.map((b) => `llama-server-${b}`).join(', ')} in ${bins.dir}`);
  if (!existsSync(LLAMA_MODEL)) problems.push(`no model at ${LLAMA_MODEL}`);
  if (problems.length === 0) return true;
  const how =
    'set LLAMA_SERVER_DIR to a folder holding llama-server-b5640 / llama-server-de3ff81, or build them with ' +
    '`npm run llama:build` and set LLAMA_SERVER_DIR to the folder it prints (default ~/.cache/prefill-proxy/llama)';
  if (process.env.LLAMA_SERVERS_REQUIRED === '1') {
    throw new Error(`LLAMA_SERVERS_REQUIRED=1 but the real llama.cpp servers are unavailable: ${problems.join('; ')} (${how})`);
  }
  if (!warnedMissing()) {
    setWarnedMissing();
    console.warn(`[real-llama] skipping the real llama.cpp server tests: ${problems.join('; ')}; ${how}.`);
  }
  return false;
}

/**
 * `describe` when the builds are available, `describe.skip` (after one warning) when not, and a
 * failure at collection time when `LLAMA_SERVERS_REQUIRED=1` and they are missing.
 */
export function describeLlama(name: string, fn: () => void, builds: readonly LlamaBuild[] = KNOWN_LLAMA_BUILDS): void {
  if (requireLlamaServers(builds)) describe(name, fn);
  else describe.skip(name, fn);
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping servers

export interface StartLlamaOptions {
  build: LlamaBuild;
  template: LlamaTemplate;
  /** Appended after the harness's own arguments. */
  extraArgs?: string[];
  /** How long to wait for `GET /health` to answer 200 (default 20 s). */
  readyTimeoutMs?: number;
  /** Defaults to `LLAMA_THREADS`, else 1 (several servers share the CPU in tests). */
  threads?: number;
  /**
   * Physical batch size (`-ub`), default 1. With 1, every prompt token is evaluated alone, so an
   * answer does not depend on how much of the prompt came from the prompt cache: de3ff81 with a
   * larger batch gives a different greedy continuation for a prompt evaluated in one batch
   * (`/completion` with `cache_prompt: false`) than for the same prompt mostly read from the cache
   * (a chat request following a similar one). Pass 0 to keep the build's default (512).
   */
  ubatch?: number;
}

export interface LlamaServer {
  /** `http://127.0.0.1:<port>` (no trailing slash, no `/v1`). */
  url: string;
  port: number;
  build: LlamaBuild;
  template: LlamaTemplate;
  pid: number | undefined;
  /** The exact command line. */
  args: string[];
  /** The last lines the server wrote (stdout and stderr together). */
  logs(): string;
  /** SIGTERM, then SIGKILL after 2 s; safe to call more than once. */
  stop(): Promise<void>;
}

const LOG_LINES = 200;

class RingBuffer {
  private lines: string[] = [];
  private partial = '';
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > LOG_LINES) this.lines.shift();
    }
  }
  text(last = LOG_LINES): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-last).join('\n');
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

const helpCache = new Map<string, string>();
/** The `--help` text of a binary (cached), to pass only the flags that build knows. */
export function llamaHelp(binary: string): string {
  let text = helpCache.get(binary);
  if (text === undefined) {
    const r = spawnSync(binary, ['--help'], { encoding: 'utf8', timeout: 10_000 });
    text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    helpCache.set(binary, text);
  }
  return text;
}

function knowsFlag(binary: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s,])${escaped}([\\s,=]|$)`, 'm').test(llamaHelp(binary));
}

/** A port that was free a moment ago (the caller retries if someone takes it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class BindError extends Error {}

/** Starts a llama-server with the stories260K model; resolves once `GET /health` answers 200. */
export async function startLlamaServer(opts: StartLlamaOptions): Promise<LlamaServer> {
  const binary = llamaBinaries().builds[opts.build];
  if (!binary) throw new Error(`llama-server-${opts.build} not found in ${llamaBinaries().dir}`);
  installExitHook();
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await startOnPort(binary, port, opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof BindError)) throw err;
    }
  }
  throw lastError;
}

/** The command-line arguments the harness passes (exported so fixture READMEs can quote them). */
export function llamaArgs(binary: string, port: number, opts: StartLlamaOptions): string[] {
  const threads = opts.threads ?? (Number(process.env.LLAMA_THREADS) || 1);
  const args = ['-m', LLAMA_MODEL, '--host', '127.0.0.1', '--port', String(port), '-c', '2048', '-np', '2'];
  args.push('-t', String(threads));
  const ubatch = opts.ubatch ?? 1;
  if (ubatch > 0) args.push('-ub', String(ubatch));
  if (opts.template === 'chatml') args.push('--chat-template', 'chatml');
  else args.push('--jinja', '--chat-template-file', LLAMA_THINK_TEMPLATE);
  if (knowsFlag(binary, '--no-webui')) args.push('--no-webui');
  args.push(...(opts.extraArgs ?? []));
  return args;
}

async function startOnPort(binary: string, port: number, opts: StartLlamaOptions): Promise<LlamaServer> {
  const args = llamaArgs(binary, port, opts);
  const log = new RingBuffer();
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.stdout?.setEncoding('utf8').on('data', (d: string) => log.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => log.push(d));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exitPromise;
      clearTimeout(killer);
    })();
    return stopping;
  };

  const url = `http://127.0.0.1:${port}`;
  const label = `llama-server-${opts.build} (${opts.template}) on port ${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  let lastStatus = 'no answer';
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`${label}: could not start ${binary}: ${spawnError.message}`);
    if (exited) {
      const tail = log.text(30);
      if (/couldn't bind|address already in use/i.test(tail)) throw new BindError(`${label}: port taken`);
      throw new Error(
        `${label} exited before it was ready (code ${exited.code}, signal ${exited.signal}).\n` +
          `command: ${binary} ${args.join(' ')}\n--- last log lines ---\n${tail}`,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      lastStatus = `HTTP ${res.status}`;
      await res.arrayBuffer();
      if (res.status === 200) {
        return { url, port, build: opts.build, template: opts.template, pid: child.pid, args, logs: () => log.text(), stop };
      }
    } catch (err) {
      lastStatus = (err as Error).message;
    }
    await sleep(50);
  }
  await stop();
  throw new Error(
    `${label} not ready after ${opts.readyTimeoutMs ?? 20_000} ms (last /health: ${lastStatus}).\n` +
      `command: ${binary} ${args.join(' ')}\n--- last log lines ---\n${log.text(30)}`,
  );
}

/** Starts several servers in parallel; if one fails, the others are stopped. */
export async function startLlamaServers(list: StartLlamaOptions[]): Promise<LlamaServer[]> {
  const results = await Promise.allSettled(list.map((o) => startLlamaServer(o)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<LlamaServer>).value);
}

// ---------------------------------------------------------------------------------------------
// Talking to a server

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body exactly as received. */
  text: string;
}

/**
 * One HTTP request on a fresh connection (no keep-alive: llama-server closes idle sockets, and a
 * reused one fails with "other side closed"). Returns the status, headers and the raw body.
 */
export function httpRaw(url: string, route: string, method: 'GET' | 'POST', body?: unknown, timeoutMs = 15_000): Promise<RawAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${route}`,
      {
        method,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}${route}: no answer after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** POSTs JSON (a string is sent as it is) and returns the status, headers and the raw body text. */
export function postRaw(url: string, route: string, body: unknown, timeoutMs = 15_000): Promise<RawAnswer> {
  return httpRaw(url, route, 'POST', body, timeoutMs);
}

async function postJson<T>(url: string, route: string, body: unknown): Promise<T> {
  const r = await postRaw(url, route, body);
  if (r.status !== 200) throw new Error(`POST ${route} → HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  return JSON.parse(r.text) as T;
}

export type ChatMessage = { role: string; content?: unknown; reasoning_content?: string; [k: string]: unknown };

/** The prompt llama.cpp renders for these messages (`POST /apply-template`). */
export async function applyTemplate(url: string, messages: ChatMessage[], extra: Record<string, unknown> = {}): Promise<string> {
  const j = await postJson<{ prompt: string }>(url, '/apply-template', { messages, ...extra });
  return j.prompt;
}

/** Greedy, repeatable settings shared by the ground truth and the chat requests it is compared with. */
export const GREEDY = { temperature: 0, top_k: 1, seed: 42 } as const;

export interface CompletionOptions {
  n_predict: number;
  [k: string]: unknown;
}

export interface CompletionAnswer {
  content: string;
  stop_type?: string;
  stopping_word?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
  truncated?: boolean;
  [k: string]: unknown;
}

/** The whole `/completion` answer for a prompt, decoded greedily. */
export async function completionDetails(url: string, prompt: string, opts: CompletionOptions): Promise<CompletionAnswer> {
  return postJson<CompletionAnswer>(url, '/completion', { prompt, ...GREEDY, cache_prompt: false, ...opts });
}

/** The raw continuation of `prompt` (`POST /completion`, greedy: temperature 0, top_k 1, seed 42). */
export async function completion(url: string, prompt: string, opts: CompletionOptions): Promise<string> {
  return (await completionDetails(url, prompt, opts)).content;
}

/** The `finish_reason` a chat answer gives for this `/completion` answer (`stop_type` "limit" → "length"). */
export function completionFinishReason(a: CompletionAnswer): 'stop' | 'length' {
  return a.stop_type === 'limit' ? 'length' : 'stop';
}

/** Token ids of `text` (`POST /tokenize`, without BOS). */
export async function tokenize(url: string, text: string): Promise<number[]> {
  const j = await postJson<{ tokens: Array<number | { id: number }> }>(url, '/tokenize', { content: text });
  return j.tokens.map((t) => (typeof t === 'number' ? t : t.id));
}

/** `POST /v1/chat/completions` (not streamed), parsed. */
export async function chat(url: string, body: Record<string, unknown>): Promise<ChatAnswer> {
  return postJson<ChatAnswer>(url, '/v1/chat/completions', { ...body, stream: false });
}

export interface ChatAnswer {
  choices: Array<{
    index: number;
    finish_reason: string | null;
    message: { role: string; content: string | null; reasoning_content?: string };
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  [k: string]: unknown;
}

/** Text parts joined the way the proxy joins them (with nothing between). */
export function joinContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  }
  return '';
}

/**
 * The messages as the proxy sends them to llama.cpp: content parts joined into one string, and
 * two (or more) assistant messages at the end merged into one turn.
 */
export function normaliseMessages(messages: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = messages.map((m) => (m.content === undefined || typeof m.content === 'string' || m.content === null ? { ...m } : { ...m, content: joinContent(m.content) }));
  // The proxy merges them into one turn, their texts separated by a blank line (empty ones skipped).
  while (out.length >= 2 && out[out.length - 1]!.role === 'assistant' && out[out.length - 2]!.role === 'assistant') {
    const last = out.pop()!;
    const prev = out[out.length - 1]!;
    const texts = [joinContent(prev.content), joinContent(last.content)].filter((text) => text.length > 0);
    const merged: ChatMessage = { ...prev, content: texts.join('\n\n') };
    if (last.reasoning_content || prev.reasoning_content) merged.reasoning_content = `${prev.reasoning_content ?? ''}${last.reasoning_content ?? ''}`;
    out[out.length - 1] = merged;
  }
  return out;
}

export interface GroundTruthOptions {
  /** A de3ff81 server with the same template: its `/apply-template` renders the prompt. */
  templateUrl: string;
  /** The server under test: its `/completion` continues the prompt. */
  completionUrl: string;
  messages: ChatMessage[];
  n_predict: number;
  extra?: Record<string, unknown>;
}

export interface GroundTruth {
  prompt: string;
  /** What the model generates after the prompt (the continuation only). */
  continuation: string;
  answer: CompletionAnswer;
}

/**
 * The ground truth of a chat request: the prompt de3ff81's `/apply-template` renders from the
 * normalised messages, continued greedily by `/completion` on the server under test. A trailing
 * assistant message with `reasoning_content` and empty content is rendered as the generation
 * prompt (which opens `<think>`) followed by the reasoning prefix.
 */
export async function groundTruth(o: GroundTruthOptions): Promise<GroundTruth> {
  const messages = normaliseMessages(o.messages);
  const last = messages[messages.length - 1];
  let prompt: string;
  if (last?.role === 'assistant' && last.reasoning_content && !joinContent(last.content)) {
    prompt = (await applyTemplate(o.templateUrl, messages.slice(0, -1), { add_generation_prompt: true, ...o.extra })) + last.reasoning_content;
  } else {
    prompt = await applyTemplate(o.templateUrl, messages, o.extra);
  }
  const answer = await completionDetails(o.completionUrl, prompt, { n_predict: o.n_predict });
  return { prompt, continuation: answer.content, answer };
}
