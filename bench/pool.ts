/**
 * Pools the per-round figures of several `npm run bench -- --cpu-only` runs (their stderr, kept in
 * bench/runs/): per server, the median of every round's CPU per request, and the median of every
 * round's ratio to the pipe measured in that same round (paired); then, for each `@label` checkout,
 * the proxy's own cost (its CPU minus the pipe's) and its ratio to the pipe against that checkout's.
 *
 *   npx tsx bench/pool.ts bench/runs/2026-11-22-*-12x3s.log
 */
import { readFileSync } from 'node:fs';
import { pipeOf } from './services.js';

type Mode = 'not streamed' | 'streamed';
const MODES: Mode[] = ['not streamed', 'streamed'];
const PATHS = [
  ['proxy', 'prefill, answer piped'],
  ['proxy-rewrite', 'prefill, answer rewritten'],
] as const;

const totals = new Map<string, number[]>();
const paired = new Map<string, number[]>();
const push = (map: Map<string, number[]>, key: string, value: number) => map.set(key, [...(map.get(key) ?? []), value]);

for (const file of process.argv.slice(2)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const rounds = new Map<string, Map<string, [number, number]>>();
  lines.forEach((line, i) => {
    const round = /^round (\d+)\/\d+: (\S+)$/.exec(line);
    const figures = /CPU µs per request: (\d+) not streamed, (\d+) streamed/.exec(lines[i + 1] ?? '');
    if (!round || !figures) return;
    const key = `${file}#${round[1]}`;
    if (!rounds.has(key)) rounds.set(key, new Map());
    rounds.get(key)!.set(round[2]!, [Number(figures[1]), Number(figures[2])]);
  });
  for (const servers of rounds.values()) {
    for (const [server, values] of servers) {
      // Runs before the llama.cpp-like upstream had one pipe for every path.
      const pipe = servers.get(pipeOf(server)) ?? servers.get('baseline');
      MODES.forEach((mode, m) => {
        push(totals, `${server} ${mode}`, values[m]!);
        if (pipe) push(paired, `${server} ${mode}`, values[m]! / pipe[m]!);
      });
    }
  }
}

const median = (values: number[] | undefined) => {
  if (!values?.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const labels = [...new Set([...totals.keys()].map((key) => /@(\S+)/.exec(key)?.[1]).filter((label): label is string => !!label))];
const percent = (change: number) => `${change > 0 ? '+' : ''}${(change * 100).toFixed(0)}%`;

process.stdout.write(`${totals.get('baseline not streamed')?.length ?? 0} rounds pooled\n\n`);
const header = ['path', 'now', ...labels.flatMap((label) => [label, `own cost vs ${label}`, `ratio vs ${label}`])];
for (const [kind, map] of [['medians of CPU per request, then the ratio', totals], ['paired: medians of each round\'s ratio to the pipe', paired]] as const) {
  process.stdout.write(`${kind}\n\n| ${header.join(' | ')} |\n|---|${header.slice(1).map(() => '---:').join('|')}|\n`);
  for (const mode of MODES) {
    for (const [server, path] of PATHS) {
      const pipeTotals = (name: string) => totals.get(`${pipeOf(name)} ${mode}`) ?? totals.get(`baseline ${mode}`);
      const ratio = (name: string) => (map === totals ? median(totals.get(`${name} ${mode}`)) / median(pipeTotals(name)) : median(paired.get(`${name} ${mode}`)));
      const now = ratio(server);
      const cells = labels.flatMap((label) => {
        const then = ratio(`${server}@${label}`);
        return [`${then.toFixed(2)}×`, percent((now - 1) / (then - 1) - 1), percent(now / then - 1)];
      });
      process.stdout.write(`| ${path}${mode === 'streamed' ? ', streamed' : ''} | ${now.toFixed(2)}× | ${cells.join(' | ')} |\n`);
    }
  }
  process.stdout.write('\n');
}

// With BENCH_FLOOR=1: the floor (Fastify and undici, nothing else) in front of each upstream, and what
// each build spends beyond it, in µs (medians of CPU per request): the part of the own cost that is
// the proxy's work rather than its stack's.
const FLOORS = { proxy: 'floor', 'proxy-rewrite': 'floor-llama' } as const;
if (totals.has('floor not streamed')) {
  const cpu = (name: string, mode: Mode) => median(totals.get(`${name} ${mode}`));
  const floorHeader = ['path', 'pipe µs', 'floor µs', 'floor ÷ pipe', 'now beyond the floor', ...labels.flatMap((label) => [`${label} beyond the floor`, `change vs ${label}`])];
  process.stdout.write(`beyond the floor: CPU µs per request over the floor in front of the same upstream\n\n| ${floorHeader.join(' | ')} |\n|---|${floorHeader.slice(1).map(() => '---:').join('|')}|\n`);
  for (const mode of MODES) {
    for (const [server, path] of PATHS) {
      const floor = FLOORS[server];
      const pipe = cpu(pipeOf(server), mode);
      const base = cpu(floor, mode);
      if (Number.isNaN(base)) continue;
      const beyond = (name: string) => cpu(name, mode) - base;
      const now = beyond(server);
      const cells = labels.flatMap((label) => {
        const then = beyond(`${server}@${label}`);
        return [then.toFixed(0), percent(now / then - 1)];
      });
      process.stdout.write(`| ${path}${mode === 'streamed' ? ', streamed' : ''} | ${pipe.toFixed(0)} | ${base.toFixed(0)} | ${(base / pipe).toFixed(2)}× | ${now.toFixed(0)} | ${cells.join(' | ')} |\n`);
    }
  }
  process.stdout.write('\n');
}
