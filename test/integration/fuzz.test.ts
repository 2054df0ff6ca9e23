import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';

/**
 * Property: whatever a client sends (body bytes, JSON of any shape, near-valid requests, headers), the
 * proxy answers with a status below 500 in OpenAI's error shape when it refuses, and keeps running.
 * The upstream is the built-in mock, so every 5xx would be the proxy's own fault.
 */
const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 8 }));
/** Mostly a valid value, sometimes anything: both the accepting and the refusing paths get traffic. */
const usually = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 10 }, { arbitrary: scalar, weight: 1 });
const part = usually(fc.record({ type: usually(fc.constantFrom('text', 'image_url')), text: fc.string({ maxLength: 5 }) }, { requiredKeys: ['type'] }));
const message = usually(
  fc.record(
    {
      role: usually(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function', 'robot')),
      content: usually(fc.oneof(fc.string({ maxLength: 12 }), fc.array(part, { maxLength: 3 }))),
      prefix: fc.option(usually(fc.boolean()), { nil: undefined }),
      partial: fc.option(usually(fc.boolean()), { nil: undefined }),
      reasoning_content: fc.option(usually(fc.string({ maxLength: 5 })), { nil: undefined }),
      tool_calls: fc.option(usually(fc.array(fc.anything(), { maxLength: 2 })), { nil: undefined }),
    },
    { requiredKeys: ['role', 'content'] },
  ),
);
const optional = <T>(valid: fc.Arbitrary<T>) => fc.option(usually(valid), { nil: undefined });
const nearValid = fc.record(
  {
    model: optional(fc.constantFrom('mock-1', 'mock-thinker')),
    messages: usually(fc.array(message, { minLength: 1, maxLength: 4 })),
    stream: optional(fc.boolean()),
    echo: optional(fc.boolean()),
    n: optional(fc.integer({ min: 1, max: 3 })),
    max_tokens: optional(fc.integer({ min: 0, max: 50 })),
    reasoning_budget_tokens: optional(fc.integer({ min: 0, max: 30 })),
    stream_options: optional(fc.record({ include_usage: usually(fc.boolean()) })),
    continue_final_message: optional(fc.boolean()),
  },
  { requiredKeys: ['messages'] },
);
const body = fc.oneof(
  { arbitrary: nearValid.map((value) => JSON.stringify(value)), weight: 6 },
  { arbitrary: fc.json({ maxDepth: 4 }), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,20}$/);
const headers = fc.record(
  {
    'content-type': usually(fc.constantFrom('application/json', 'application/json; charset=utf-8')).map((value) =>
      typeof value === 'string' && value.startsWith('application/json') ? value : 'text/plain',
    ),
    'x-prefill-mode': usually(fc.constantFrom('auto', 'explicit', 'off', 'AUTO')).map((value) => String(value)),
    authorization: fc.oneof(fc.constant('Bearer sk-good'), headerValue.map((value) => `Bearer ${value}`), headerValue),
    'x-api-key': headerValue,
    'x-request-id': headerValue,
  },
  { requiredKeys: ['content-type'] },
);

function runs(app: () => FastifyInstance, numRuns: number) {
  return fc.assert(
    fc.asyncProperty(body, headers, fc.constantFrom('/v1/chat/completions', '/chat/completions'), async (payload, sent, url) => {
      const response = await app().inject({ method: 'POST', url, payload, headers: sent });
      expect(response.statusCode).toBeLessThan(500);
      if (response.statusCode >= 400) {
        const error = JSON.parse(response.body) as { error?: Record<string, unknown> };
        expect(Object.keys(error.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
      }
    }),
    { numRuns, seed: 7 },
  );
}

describe('fuzzing the chat route', () => {
  let open: FastifyInstance;
  let locked: FastifyInstance;
  beforeAll(async () => {
    open = buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
    locked = buildApp(loadConfig({ LOG_LEVEL: 'silent', PROXY_API_KEYS: 'sk-good' }));
    await open.ready();
    await locked.ready();
  });
  afterAll(async () => {
    await open.close();
    await locked.close();
  });

  it('never answers a client mistake with a 5xx, and always in OpenAI shape', async () => {
    await runs(() => open, 1500);
    // Still serving afterwards.
    const health = await open.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  }, 120_000);

  it('the same behind client keys', async () => {
    await runs(() => locked, 500);
  }, 120_000);

  it('exercises both accepted and refused requests', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(body, headers, async (payload, sent) => {
        statuses.add((await open.inject({ method: 'POST', url: '/v1/chat/completions', payload, headers: sent })).statusCode);
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(statuses.has(200)).toBe(true);
    expect([...statuses].some((status) => status >= 400)).toBe(true);
  });
});
