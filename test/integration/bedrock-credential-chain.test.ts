/**
 * Bedrock with no keys configured: requests are signed with what AWS's default credential chain finds,
 * as the AWS SDKs do (here the container's credentials, as ECS serves them: AWS_CONTAINER_CREDENTIALS_FULL_URI
 * with its authorization token). The Bedrock mock checks each SigV4 signature against those
 * credentials, session token included; the chain is asked once and its answer cached. With nothing
 * for the chain to find, a request gets a 502 `upstream_credentials_unavailable` saying why, at once.
 * Client: the official openai SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEDROCK_CONTINUATION, startBedrockMock, type BedrockMock } from '../mocks/bedrock.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const CLAUDE_35 = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const ROLE = { accessKeyId: 'ASIACHAINTEST', secretAccessKey: 'chain-secret-access-key-0123', sessionToken: 'chain-session-token-0123456789' };
const AUTHORIZATION = 'container-authorization-token';
const messages = [
  { role: 'user' as const, content: 'Finish the sentence.' },
  { role: 'assistant' as const, content: 'The quick brown fox ' },
];

/** The variables AWS's chain reads, as they were before this file, to put back. */
const saved = new Map<string, string | undefined>();
function setEnv(name: string, value: string | undefined): void {
  if (!saved.has(name)) saved.set(name, process.env[name]);
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

let credentialsServer: Server;
let credentialsCalls = 0;
let mock: BedrockMock;
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  // The container's credentials endpoint (ECS): a token-checked GET answering temporary credentials.
  credentialsServer = createServer((request, response) => {
    credentialsCalls++;
    if (request.headers.authorization !== AUTHORIZATION) {
      response.writeHead(403).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ AccessKeyId: ROLE.accessKeyId, SecretAccessKey: ROLE.secretAccessKey, Token: ROLE.sessionToken, Expiration: new Date(Date.now() + 3_600_000).toISOString() }),
    );
  });
  await new Promise<void>((resolve) => credentialsServer.listen(0, '127.0.0.1', resolve));
  const { port } = credentialsServer.address() as AddressInfo;
  // Nothing else for the chain to find first: no keys, no profile files, no instance metadata.
  const empty = mkdtempSync(join(tmpdir(), 'prefill-proxy-aws-'));
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) setEnv(name, undefined);
  setEnv('AWS_CONFIG_FILE', join(empty, 'config'));
  setEnv('AWS_SHARED_CREDENTIALS_FILE', join(empty, 'credentials'));
  setEnv('AWS_EC2_METADATA_DISABLED', 'true');
  setEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${port}/credentials`);
  setEnv('AWS_CONTAINER_AUTHORIZATION_TOKEN', AUTHORIZATION);
  mock = await startBedrockMock({ credentials: ROLE });
});

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await mock.close();
  await new Promise((resolve) => credentialsServer.close(resolve));
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function proxyWithoutKeys(env: Record<string, string> = {}): Promise<RunningProxy> {
  const proxy = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'bedrock', AWS_REGION: 'us-east-1', RESUME_ATTEMPTS: '0', UPSTREAM_RETRIES: '0', ...env });
  proxies.push(proxy);
  return proxy;
}

describe("Bedrock signed with AWS's default credential chain", () => {
  it('the container role signs every request (the mock checks the signature and the session token); chat and passthrough share one chain, asked once', async () => {
    const proxy = await proxyWithoutKeys();
    const before = credentialsCalls;
    const first = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages, max_tokens: 64 });
    expect(first.choices[0]!.message.content).toBe(BEDROCK_CONTINUATION.trimStart());
    const stream = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages, max_tokens: 64, stream: true });
    let streamedText = '';
    for await (const chunk of stream) streamedText += chunk.choices[0]?.delta?.content ?? '';
    expect(streamedText).toBe(BEDROCK_CONTINUATION.trimStart());
    // A passthrough request (Bedrock's own Converse, forwarded as it came) is signed by the same chain.
    const converse = await fetch(`${proxy.url}/model/${encodeURIComponent(CLAUDE_35)}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Finish the sentence.' }] }], inferenceConfig: { maxTokens: 64 } }),
    });
    expect(converse.status).toBe(200);
    expect(credentialsCalls - before).toBe(1);
    const signed = mock.requests.at(-1)!;
    expect(signed.headers['x-amz-security-token']).toBe(ROLE.sessionToken);
    expect(String(signed.headers.authorization)).toContain(`Credential=${ROLE.accessKeyId}/`);
  });

  it('a credentials source that hangs is bounded by the connect timeout: a 502 saying so, not a wait', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    setEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/credentials`);
    try {
      // The container step's own timeout is 1 s: the proxy's bound (200 ms) answers first.
      const proxy = await proxyWithoutKeys({ UPSTREAM_CONNECT_TIMEOUT_MS: '200' });
      const started = Date.now();
      const err = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages, max_tokens: 64 }).then(
        () => undefined,
        (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
      );
      expect(err!.status).toBe(502);
      expect(err!.error).toMatchObject({ code: 'upstream_credentials_unavailable', message: expect.stringContaining('no answer within 200 ms') });
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
      setEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${(credentialsServer.address() as AddressInfo).port}/credentials`);
    }
  });

  it('nothing for the chain to find: a 502 upstream_credentials_unavailable saying why, at once, without a secret', async () => {
    setEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', undefined);
    try {
      const proxy = await proxyWithoutKeys();
      for (let attempt = 0; attempt < 2; attempt++) {
        const started = Date.now();
        const err = await proxy.client.chat.completions.create({ model: CLAUDE_35, messages, max_tokens: 64 }).then(
          () => undefined,
          (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
        );
        expect(err).toBeInstanceOf(OpenAI.APIError);
        expect(err!.status).toBe(502);
        expect(err!.error).toMatchObject({ code: 'upstream_credentials_unavailable', type: 'upstream_error', message: expect.stringContaining("AWS's default chain") });
        expect(JSON.stringify(err!.error)).not.toContain(AUTHORIZATION);
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    } finally {
      setEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${(credentialsServer.address() as AddressInfo).port}/credentials`);
    }
  });
});
