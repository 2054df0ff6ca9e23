import { Readable } from 'node:stream';
import { upstreamTransportError, type ProxyError } from '../errors.js';
import type { CancelSignal } from '../upstream/client-gone.js';
import type { ChatStreamRewriter } from './stream.js';

/**
 * Forwards an upstream SSE body to the client, event by event as it arrives (never buffered whole).
 * Without a rewriter the bytes go through untouched. If the upstream fails mid-stream (socket drop,
 * idle timeout), the client gets an OpenAI-shaped error event and no `[DONE]`, so the truncation is
 * never mistaken for a clean end. When the client goes away, this stream is destroyed and destroys the
 * upstream body with it.
 *
 * A plain Readable driven by the source's events: an async generator here would cost two promises per
 * event on the hottest path the proxy has.
 */
export function relaySse(
  source: Readable,
  rewriter: ChatStreamRewriter | undefined,
  onUpstreamFailure: (error: ProxyError) => void,
  clientSignal: CancelSignal,
  onFirstByte?: () => void,
): Readable {
  return new SseRelay(source, rewriter, onUpstreamFailure, clientSignal, onFirstByte);
}

class SseRelay extends Readable {
  private atEventBoundary = true;
  private finished = false;

  constructor(
    private readonly source: Readable,
    private readonly rewriter: ChatStreamRewriter | undefined,
    private readonly onUpstreamFailure: (error: ProxyError) => void,
    private readonly clientSignal: CancelSignal,
    private onFirstByte: (() => void) | undefined,
  ) {
    super();
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.once('end', () => this.onEnd());
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

  private onData(chunk: Buffer): void {
    let out: Buffer | string = chunk;
    if (this.rewriter) out = this.rewriter.write(chunk);
    else this.atEventBoundary = endsWithBlankLine(chunk);
    if (out.length === 0) return;
    if (this.onFirstByte) {
      this.onFirstByte();
      this.onFirstByte = undefined;
    }
    if (!this.push(out)) this.source.pause();
  }

  private onEnd(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.rewriter) {
      const tail = this.rewriter.end();
      if (tail.length > 0) this.push(tail);
    }
    this.push(null);
  }

  private onError(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    // The client left and its abort tore the upstream body down: nobody is there to tell.
    if (this.clientSignal.aborted) {
      this.destroy();
      return;
    }
    const error = upstreamTransportError(err);
    this.onUpstreamFailure(error);
    const body = { error: { ...error.toJSON().error, message: `Upstream stream failed: ${error.message}` } };
    this.push(`${this.atEventBoundary ? '' : '\n\n'}data: ${JSON.stringify(body)}\n\n`);
    this.push(null);
  }
}

function endsWithBlankLine(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (n >= 3 && chunk[n - 2] === 13 && chunk[n - 3] === 10));
}
