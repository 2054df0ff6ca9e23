import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROXY_NODE_FLAGS } from '../../bench/services.js';

// The proxy's node flags (a small young generation; no memory reducer, which dropped the optimised
// code after every quiet minute) are written in four places: every way of starting it must pass the
// same ones, and the bench must measure it as it runs.
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const nodeFlags = (words: string[]) => words.filter((word) => word.startsWith('--'));

const shebang = nodeFlags(read('src/main.ts').split('\n')[0]!.split(' '));
const dockerCmd = nodeFlags(JSON.parse(/^CMD (\[.*\])$/m.exec(read('Dockerfile'))![1]!) as string[]);
const npmStart = nodeFlags((JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(' '));

describe('the node flags the proxy runs with', () => {
  it('are the same in the bin, the image, npm start and the bench', () => {
    expect(shebang).toEqual(['--max-semi-space-size=4', '--no-memory-reducer']);
    expect(dockerCmd).toEqual(shebang);
    expect(npmStart).toEqual(shebang);
    expect(PROXY_NODE_FLAGS).toEqual(shebang);
  });

  it('are accepted by this node (an unknown V8 flag would stop the proxy from starting)', () => {
    const run = spawnSync(process.execPath, [...shebang, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
