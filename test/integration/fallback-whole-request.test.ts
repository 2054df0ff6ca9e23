/**
 * A configured fallback takes a request only when it can take all of it. A Messages request with a
 * document (which only an Anthropic upstream takes, as it came) or a Responses request with a setting
 * only OpenAI honours is never sent to a fallback that would drop that part: the fallback is passed
 * over and the client gets the first upstream's failure, in its door's error shape. Without such a
 * part the same fallback answers. Clients are the official SDKs.
 */
import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { REFUSING_UPSTREAM } from '../helpers/unreachable.js';
import type { MockServer } from '../mocks/server.js';
import { startStory } from '../mocks/story.js';

let backup: MockServer;
let proxy: RunningProxy;

beforeAll(async () => {
  backup = await startStory({ cap: 100 });
  const file = join(mkdtempSync(join(tmpdir(), 'prefill-proxy-')), 'config.yaml');
  writeFileSync(
    file,
    [
      'upstreams:',
      '  claude:',
      '    provider: anthropic',
      `    url: ${REFUSING_UPSTREAM}`,
      '    api_key: sk-ant-test',
      '    retries: 0',
      '  gpt:',
      '    provider: openai',
      `    url: ${REFUSING_UPSTREAM}/v1`,
      '    api_key: sk-openai-test',
      '    retries: 0',
      '  local:',
      '    provider: vllm',
      `    url: ${backup.url}/v1`,
      'models:',
      '  - name: house-claude',
      '    upstream: claude',
      '    fallbacks: [local-story]',
      '  - name: gpt-5',
      '    upstream: gpt',
      '    fallbacks: [local-story]',
      '  - name: local-story',
      '    upstream: local',
      '    upstream_model: story',
    ].join('\n'),
  );
  proxy = await startProxy({ CONFIG_FILE: file });
});
afterAll(async () => {
  await proxy.close();
  await backup.close();
});

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as InstanceType<typeof Anthropic.APIError> & InstanceType<typeof OpenAI.APIError>);

describe('a fallback takes only a request it can take whole', () => {
  const anthropic = () => new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0, timeout: 15_000 });
  const ask = { model: 'house-claude', max_tokens: 64 };

  it('Messages: without a document the fallback answers', async () => {
    const before = backup.requests.length;
    const message = await anthropic().messages.create({ ...ask, messages: [{ role: 'user', content: 'Tell me the story of the fox.' }] });
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(backup.requests.length).toBe(before + 1);
  });

  it('Messages: with a document the fallback is passed over, and the client gets the failure in Anthropic shape', async () => {
    const before = backup.requests.length;
    const document: Anthropic.MessageParam = {
      role: 'user',
      content: [
        { type: 'text', text: 'Summarise.' },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'A fox crossed the river.' } },
      ],
    };
    for (const stream of [false, true]) {
      const err = await errorOf(stream ? anthropic().messages.create({ ...ask, stream: true, messages: [document] }).then(async (events) => { for await (const _ of events) void _; }) : anthropic().messages.create({ ...ask, messages: [document] }));
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(err!.status).toBeGreaterThanOrEqual(500);
      expect(err!.error).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    }
    expect(backup.requests.length).toBe(before);
  });

  it('Responses: a setting only OpenAI honours passes the fallback over; without it the fallback answers', async () => {
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 15_000 });
    const before = backup.requests.length;
    const refused = await errorOf(openai.responses.create({ model: 'gpt-5', input: 'Tell me the story of the fox.', text: { verbosity: 'low' } }));
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect(refused!.status).toBeGreaterThanOrEqual(500);
    expect(backup.requests.length).toBe(before);
    const answered = await openai.responses.create({ model: 'gpt-5', input: 'Tell me the story of the fox.' });
    expect(answered.output_text.length).toBeGreaterThan(0);
    expect(backup.requests.length).toBe(before + 1);
  });
});
