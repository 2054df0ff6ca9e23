import type { IncomingHttpHeaders } from 'node:http';
import { presentedKey } from './keys.js';

const REDACTED = '[redacted]';
/** Shorter values are not keys, and replacing them could change ordinary text. */
const MIN_SECRET_LENGTH = 8;

/**
 * The secrets the proxy knows (upstream keys, client keys) and the one a request presents, kept out
 * of everything relayed to clients: upstream error messages, error events, passthrough error bodies
 * and headers, and bytes of a stream that would carry one. Checked with a native substring search,
 * so text without a secret costs one scan per secret.
 */
export class Secrets {
  private readonly values: string[];

  constructor(values: Iterable<string | undefined>) {
    const unique = new Set<string>();
    for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) unique.add(value);
    // Longest first, so a key that contains another is replaced whole.
    this.values = [...unique].sort((a, b) => b.length - a.length);
  }

  /** The secrets, with the key this request presented. */
  forRequest(headers: IncomingHttpHeaders): RequestSecrets {
    const presented = presentedKey(headers);
    const values = presented && presented.length >= MIN_SECRET_LENGTH && !this.values.includes(presented) ? [presented, ...this.values] : this.values;
    return new RequestSecrets(values);
  }
}

export class RequestSecrets {
  private buffers: Buffer[] | undefined;

  constructor(private readonly values: readonly string[]) {}

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  }

  /** The bytes with every secret replaced (the same Buffer when there is none). */
  redactBytes(bytes: Buffer): Buffer {
    this.buffers ??= this.values.map((value) => Buffer.from(value));
    if (!this.buffers.some((secret) => bytes.includes(secret))) return bytes;
    return Buffer.from(this.redact(bytes.toString('utf8')));
  }

  /** Header values with every secret replaced. */
  redactHeaders<T extends Record<string, string | string[] | undefined>>(headers: T): T {
    if (this.values.length === 0) return headers;
    const out: Record<string, string | string[] | undefined> = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = Array.isArray(value) ? value.map((item) => this.redact(item)) : value === undefined ? value : this.redact(value);
    }
    return out as T;
  }

  get empty(): boolean {
    return this.values.length === 0;
  }
}
