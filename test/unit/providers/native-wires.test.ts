import { describe, expect, it } from 'vitest';
import { PROVIDER_IDS, providerFor } from '../../../src/providers/index.js';
import type { WireFormat } from '../../../src/providers/types.js';

/** A minimal request of each front door's own format, not a prefill. */
const REQUESTS: Partial<Record<WireFormat, Record<string, unknown>>> = {
  'openai-responses': { model: 'm', input: 'Hi' },
  'anthropic-messages': { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] },
};

describe('nativeWires says which front doors an upstream speaks, and nativeCall agrees', () => {
  for (const id of PROVIDER_IDS) {
    it(id, () => {
      const provider = providerFor(id);
      for (const [wire, body] of Object.entries(REQUESTS) as Array<[WireFormat, Record<string, unknown>]>) {
        const call = provider.nativeCall?.(wire, body, undefined);
        expect(call !== undefined, `${id} takes ${wire} as it came`).toBe(provider.nativeWires?.includes(wire) === true);
      }
    });
  }
});
