/**
 * What the proxy learns about an upstream at run time (a llama.cpp server's chat template; later, the
 * models that refuse prefill), remembered per key for a while. Bounded: entries expire after `ttlMs`
 * and the oldest go first once `maxEntries` is reached. Per process: each replica learns for itself.
 */
export class CapabilityMemory<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  /** Every live entry, for reports (model info). */
  *live(): IterableIterator<[string, T]> {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expires > now) yield [key, entry.value];
  }

  get size(): number {
    return this.entries.size;
  }
}
