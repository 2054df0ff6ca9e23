import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

/** What one request's line says (absent fields are left out, as pino leaves out undefined ones). */
export interface AccessLine {
  reqId: string;
  method: string;
  url: string;
  model: string | null;
  provider: string | null;
  prefill: string | null;
  status: number;
  upstreamCalls: number;
  upstreams: readonly string[];
  resumes: number;
  fallbacks: readonly string[];
  streamError: string | null;
  durationMs: number;
}

/**
 * The proxy's one line per request, written to the logger's destination in the very format pino gives
 * its own lines (`level`, `time`, `pid`, `hostname`, the fields, `msg`), without pino's generic object
 * walk and redaction: the fields are fixed and hold no secret (the path is logged without its query).
 * On a request that costs a few hundred microseconds in all, pino's walk was a few of them.
 */
export class AccessLog {
  private readonly destination: { write(line: string): unknown };
  private readonly base: string;

  constructor(private readonly log: Logger) {
    this.destination = (log as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym]!;
    this.base = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  }

  write(line: AccessLine): void {
    if (!this.log.isLevelEnabled('info')) return;
    let out = `{"level":30,"time":${Date.now()}${this.base},"reqId":${JSON.stringify(line.reqId)},"method":${JSON.stringify(line.method)},"url":${JSON.stringify(line.url)}`;
    if (line.model !== null) out += `,"model":${JSON.stringify(line.model)}`;
    if (line.provider !== null) out += `,"provider":${JSON.stringify(line.provider)}`;
    if (line.prefill !== null) out += `,"prefill":"${line.prefill}"`;
    out += `,"status":${line.status}`;
    if (line.upstreamCalls > 1) out += `,"upstreamCalls":${line.upstreamCalls}`;
    if (line.upstreams.length > 1) out += `,"upstreams":${JSON.stringify(line.upstreams)}`;
    if (line.resumes > 0) out += `,"resumes":${line.resumes}`;
    if (line.fallbacks.length > 0) out += `,"fallbacks":${JSON.stringify(line.fallbacks)}`;
    if (line.streamError !== null) out += `,"streamError":${JSON.stringify(line.streamError)}`;
    this.destination.write(`${out},"durationMs":${line.durationMs},"msg":"request"}\n`);
  }
}
