import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatRequest } from '../../../src/chat/schema.js';
import { isChatRequest, validateChatRequest } from '../../../src/chat/validate.js';

/** Values close to valid requests, so both the accepting and the refusing paths are exercised. */
const scalar = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 5 }), fc.double(), fc.string({ maxLength: 3 }));
/** Mostly a valid value, sometimes anything. */
const usually = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: scalar, weight: 1 });
const optional = <T>(valid: fc.Arbitrary<T>) => usually(fc.oneof(fc.constant(undefined), valid));
const part = usually(fc.record({ type: usually(fc.constantFrom('text', 'image_url')), text: fc.string({ maxLength: 3 }) }, { requiredKeys: ['type'] }));
const message = usually(
  fc.record(
    {
      role: usually(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function', 'robot')),
      content: usually(fc.oneof(fc.string({ maxLength: 3 }), fc.constant(null), fc.array(part, { maxLength: 3 }))),
      prefix: optional(fc.boolean()),
      partial: optional(fc.boolean()),
      tool_calls: optional(fc.oneof(fc.constant(null), fc.array(scalar, { maxLength: 2 }))),
      reasoning_content: optional(fc.oneof(fc.constant(null), fc.string({ maxLength: 3 }))),
      name: scalar,
    },
    { requiredKeys: ['role'] },
  ),
);
const count = optional(fc.oneof(fc.constant(null), fc.integer({ min: -2, max: 100 }), fc.constant(2 ** 60), fc.constant(1.5)));
const request = usually(
  fc.record(
    {
      model: optional(fc.constantFrom('m', '')),
      messages: usually(fc.array(message, { maxLength: 4 })),
      stream: optional(fc.oneof(fc.boolean(), fc.constant(null))),
      echo: optional(fc.boolean()),
      continue_final_message: optional(fc.boolean()),
      stream_options: optional(fc.oneof(fc.constant(null), fc.record({ include_usage: optional(fc.boolean()) }, { requiredKeys: [] }))),
      reasoning_budget_tokens: count,
      max_tokens: count,
      max_completion_tokens: count,
      temperature: scalar,
    },
    { requiredKeys: ['messages'] },
  ),
);

describe('validateChatRequest', () => {
  it('the fast check never accepts what the zod schema refuses', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(request, (body) => {
        if (isChatRequest(body)) {
          accepted++;
          expect(ChatRequest.safeParse(body).success).toBe(true);
        } else refused++;
      }),
      { numRuns: 20000, seed: 42 },
    );
    // Both paths were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(1000);
  });

  it('accepts ordinary requests on the fast path and returns them as they are', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [{ type: 'text', text: 'x' }], prefix: true }], stream: true, extra: { kept: 1 } };
    expect(isChatRequest(body)).toBe(true);
    expect(validateChatRequest(body)).toBe(body);
  });

  it('leaves refusals, with their field and message, to zod', () => {
    expect(() => validateChatRequest({ messages: [{ role: 'wizard' }] })).toThrowError(/messages\[0\]\.role/);
    expect(() => validateChatRequest({ messages: [] })).toThrowError(/at messages/);
  });
});
