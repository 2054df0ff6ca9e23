import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';
import { chat, planFor, streamThrough } from '../../helpers/pipeline.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/deepseek/${name}`, import.meta.url));
const plan = (body: Record<string, unknown>) => planFor('deepseek', chat(body), { raw: Buffer.from('raw') });

describe('deepseek', () => {
  it('prefill goes to /beta with prefix: true, keeping reasoning_content; ordinary requests do not', () => {
    const prefill = plan({
      model: 'deepseek-reasoner',
      messages: [{ role: 'user', content: 'Fib?' }, { role: 'assistant', content: '```python\n', reasoning_content: 'Use recursion.' }],
    });
    expect(prefill.path).toBe('/beta/chat/completions');
    expect((prefill.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '```python\n', reasoning_content: 'Use recursion.', prefix: true });
    const ordinary = plan({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hi' }] });
    expect(ordinary.path).toBe('/chat/completions');
    expect(ordinary.body).toEqual(Buffer.from('raw'));
  });

  it('whatever base URL the user gave (root, /v1, /beta), the prefix path is the same', () => {
    for (const url of ['https://api.deepseek.com', 'https://api.deepseek.com/v1', 'https://api.deepseek.com/beta', 'https://api.deepseek.com/beta/']) {
      expect(loadConfig({ UPSTREAM_URL: url }).upstream).toMatchObject({ provider: 'deepseek', origin: 'https://api.deepseek.com', basePath: '' });
    }
  });

  it('a stream with keep-alive comments passes through the rewriter', async () => {
    const result = await streamThrough('deepseek', { kind: 'native', prefix: 'def fib(n):', echo: true }, fixture('stream-prefix-keepalive.sse'), { pieceSize: 5 });
    expect({ text: result.content, done: result.done }).toEqual({ text: 'def fib(n):\n    if n < 2:', done: true });
  });

  it('a reasoning prefix goes as native reasoning_content', () => {
    const p = plan({ model: 'm', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: '', reasoning_content: 'I need to find' }] });
    expect((p.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '', reasoning_content: 'I need to find', prefix: true });
  });
});
