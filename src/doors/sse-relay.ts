import { Readable } from 'node:stream';
import { upstreamTransportError, type ProxyError } from '../errors.js';
import { sseData } from '../sse/writer.js';
import type { CancelSignal } from '../upstream/client-gone.js';

/**
 * Relays an event stream the proxy does not read (a passthrough route's), bytes untouched, as they
 * arrive. If the upstream fails mid-stream, the client gets an OpenAI-shaped error event (after a
 * line break if the upstream stopped inside an event) and the stream ends. When the client goes away,
 * this stream is destroyed and destroys the upstream body with it.
 */
export function relayEventStream(
  source: Readable,
  onUpstreamFailure: (error: ProxyError) => void,
  clientSignal: CancelSignal,
  clean?: (bytes: Buffer) => Buffer,
): Readable {
  return new EventStreamRelay(source, onUpstreamFailure, clientSignal, clean);
}

class EventStreamRelay extends Readable {
  private atEventBoundary = true;
  private finished = false;

  constructor(
    private readonly source: Readable,
    private readonly onUpstreamFailure: (error: ProxyError) => void,
    private readonly clientSignal: CancelSignal,
    clean: ((bytes: Buffer) => Buffer) | undefined,
  ) {
    super();
    source.on('data', (chunk: Buffer) => {
      this.atEventBoundary = endsWithBlankLine(chunk);
      if (!this.push(clean ? clean(chunk) : chunk)) this.source.pause();
    });
    source.once('end', () => {
      if (this.finished) return;
      this.finished = true;
      this.push(null);
    });
    source.on('error', (err: Error) => this.onError(err));
  }

  override _read(): void {
    if (!this.finished) this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.finished = true;
    if (!this.source.destroyed) this.source.destroy();
    callback(err);
  }

  private onError(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.clientSignal.aborted) {
      this.destroy();
      return;
    }
    const error = upstreamTransportError(err);
    this.onUpstreamFailure(error);
    const body = { error: { ...error.toJSON().error, message: `Upstream stream failed: ${error.message}` } };
    this.push(`${this.atEventBoundary ? '' : '\n\n'}${sseData(JSON.stringify(body))}`);
    this.push(null);
  }
}

function endsWithBlankLine(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (n >= 3 && chunk[n - 2] === 13 && chunk[n - 3] === 10));
}
