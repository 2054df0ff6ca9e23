import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { AccessLog, type AccessLine } from '../../../src/telemetry/access-log.js';
import { loggerOptions } from '../../../src/telemetry/logger.js';

/** The request line is written without pino's object walk, but must read exactly as pino's own line. */
function lines(level: string, write: (log: Logger) => void): string[] {
  const out: string[] = [];
  const log = pino(loggerOptions(level), { write: (line: string) => out.push(line) });
  write(log);
  return out;
}

const full: AccessLine = {
  reqId: 'req-1',
  method: 'POST',
  url: '/v1/chat/"odd"\\path\u2028',
  model: 'llama "3"\n',
  provider: 'vllm',
  prefill: 'native',
  status: 200,
  upstreamCalls: 3,
  upstreams: ['a', 'b'],
  resumes: 1,
  fallbacks: ['m2'],
  streamError: 'upstream_connection_lost',
  durationMs: 1.25,
};
const bare: AccessLine = { ...full, model: null, provider: null, prefill: null, upstreamCalls: 1, upstreams: ['a'], resumes: 0, fallbacks: [], streamError: null };

/** What the app logged through pino before: undefined fields left out. */
function viaPino(line: AccessLine): Record<string, unknown> {
  return {
    reqId: line.reqId,
    method: line.method,
    url: line.url,
    model: line.model ?? undefined,
    provider: line.provider ?? undefined,
    prefill: line.prefill ?? undefined,
    status: line.status,
    upstreamCalls: line.upstreamCalls > 1 ? line.upstreamCalls : undefined,
    upstreams: line.upstreams.length > 1 ? line.upstreams : undefined,
    resumes: line.resumes > 0 ? line.resumes : undefined,
    fallbacks: line.fallbacks.length > 0 ? line.fallbacks : undefined,
    streamError: line.streamError ?? undefined,
    durationMs: line.durationMs,
  };
}

describe('AccessLog', () => {
  for (const [name, line] of [['every field', full], ['only the fixed fields', bare]] as const) {
    it(`${name}: the same keys, in the same order, with the same values as pino's line`, () => {
      const [ours] = lines('info', (log) => new AccessLog(log).write(line));
      const [theirs] = lines('info', (log) => log.info(viaPino(line), 'request'));
      const parsedOurs = JSON.parse(ours!) as Record<string, unknown>;
      const parsedTheirs = JSON.parse(theirs!) as Record<string, unknown>;
      expect(Math.abs((parsedOurs.time as number) - (parsedTheirs.time as number))).toBeLessThan(1000);
      delete parsedOurs.time;
      delete parsedTheirs.time;
      expect(Object.keys(parsedOurs)).toEqual(Object.keys(parsedTheirs));
      expect(parsedOurs).toEqual(parsedTheirs);
      expect(ours!.endsWith('}\n')).toBe(true);
    });
  }

  it('writes nothing when info is off', () => {
    expect(lines('warn', (log) => new AccessLog(log).write(full))).toEqual([]);
  });
});
