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
  private values: string[];
  /** Bumped whenever `values` changes, so a request's cached list follows it. */
  private version = 0;
  private readonly fixed: Array<string | undefined>;
  /** Secrets that change while the proxy runs (credentials from AWS's chain), by owner: its latest two sets. */
  private readonly changing = new Map<string, { current: Array<string | undefined>; previous: Array<string | undefined> }>();

  constructor(values: Iterable<string | undefined>) {
    this.fixed = [...values];
    this.values = ordered(this.fixed);
  }

  /**
   * New secrets of `owner` (credentials AWS's chain loaded). The set before stays too: a request signed
   * with it may still be answered. Older ones go, so the list stays bounded.
   */
  replace(owner: string, values: Array<string | undefined>): void {
    const prior = this.changing.get(owner);
    this.changing.set(owner, { current: values, previous: prior?.current ?? [] });
    this.values = ordered([...this.fixed, ...[...this.changing.values()].flatMap((sets) => [...sets.current, ...sets.previous])]);
    this.version++;
  }

  /** The secrets, with the key this request presented (and those loaded while the request runs). */
  forRequest(headers: IncomingHttpHeaders): RequestSecrets {
    const presented = presentedKey(headers);
    return new RequestSecrets(presented && presented.length >= MIN_SECRET_LENGTH ? presented : undefined, this);
  }

  /** The current list (longest first). */
  get list(): readonly string[] {
    return this.values;
  }

  /** Changes whenever the list does. */
  get revision(): number {
    return this.version;
  }
}

/** Longest first, so a key that contains another is replaced whole; short values are not secrets. */
function ordered(values: Iterable<string | undefined>): string[] {
  const unique = new Set<string>();
  for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) unique.add(value);
  return [...unique].sort((a, b) => b.length - a.length);
}

export class RequestSecrets {
  private buffers: Buffer[] | undefined;
  private list: readonly string[] = [];
  private version = -1;

  /** `from`: the proxy's secrets, read at each use (credentials may be loaded while the request runs). */
  constructor(
    private readonly presented: string | readonly string[] | undefined,
    private readonly from?: Secrets,
  ) {}

  private get values(): readonly string[] {
    const revision = this.from?.revision ?? 0;
    if (revision !== this.version) {
      this.version = revision;
      const shared = this.from?.list ?? [];
      const own = typeof this.presented === 'string' ? [this.presented] : (this.presented ?? []);
      this.list = own.length === 0 ? shared : [...own.filter((value) => !shared.includes(value)), ...shared];
      this.buffers = undefined;
    }
    return this.list;
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  }

  /** The bytes with every secret replaced (the same Buffer when there is none). */
  redactBytes(bytes: Buffer): Buffer {
    const values = this.values;
    this.buffers ??= values.map((value) => Buffer.from(value));
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
