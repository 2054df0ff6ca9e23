import { describe, expect, it } from 'vitest';
import { Secrets } from '../../../src/auth/secrets.js';

describe('Secrets', () => {
  it('redacts the fixed secrets and the key a request presents; short values are not secrets', () => {
    const secrets = new Secrets(['sk-upstream-123456', 'short', undefined]);
    const request = secrets.forRequest({ authorization: 'Bearer sk-client-abcdef' });
    expect(request.redact('upstream sk-upstream-123456, client sk-client-abcdef, short')).toBe('upstream [redacted], client [redacted], short');
  });

  it("changing secrets (credentials from AWS's chain) replace their owner's previous ones, and apply to later requests", () => {
    const secrets = new Secrets(['sk-upstream-123456']);
    const before = secrets.forRequest({});
    secrets.replace('bedrock', ['first-secret-key-0001', 'first-session-token-0001']);
    const during = secrets.forRequest({});
    expect(during.redact('first-secret-key-0001 first-session-token-0001 sk-upstream-123456')).toBe('[redacted] [redacted] [redacted]');
    // A request already under way sees credentials loaded since it began (its own call may load them).
    expect(before.redact('first-secret-key-0001')).toBe('[redacted]');
    expect(before.redactBytes(Buffer.from('x first-session-token-0001')).toString()).toBe('x [redacted]');
    // The set before stays (a request signed with it may still be answered); the one before that goes.
    secrets.replace('bedrock', ['second-secret-key-0002', undefined]);
    secrets.replace('bedrock', ['third-secret-key-0003', undefined]);
    const after = secrets.forRequest({ 'x-api-key': 'sk-client-abcdef' });
    expect(after.redact('third-secret-key-0003 second-secret-key-0002 first-secret-key-0001 sk-client-abcdef')).toBe('[redacted] [redacted] first-secret-key-0001 [redacted]');
    expect(after.redactBytes(Buffer.from('x third-secret-key-0003')).toString()).toBe('x [redacted]');
  });
});
