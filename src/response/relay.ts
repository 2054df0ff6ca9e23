import { Readable } from 'node:stream';
import { upstreamTransportError, type ProxyError } from '../errors.js';
import type { ChatStreamRewriter } from './stream.js';

/**
 * Forwards an upstream SSE body to the client, event by event as it arrives (never buffered whole).
 * Without a rewriter the bytes go through untouched. If the upstream fails mid-stream (socket drop,
 * idle timeout), the client gets an OpenAI-shaped error event and no `[DONE]`, so the truncation is
 * never mistaken for a clean end. When the client goes away, the returned stream is destroyed, which
 * ends the iteration and with it the upstream request.
 */
export function relaySse(
  source: Readable,
  rewriter: ChatStreamRewriter | undefined,
  onUpstreamFailure: (error: ProxyError) => void,
  clientSignal: AbortSignal,
): Readable {
  async function* relay(): AsyncGenerator<Buffer | string> {
    let atEventBoundary = true;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (!rewriter) {
          atEventBoundary = endsWithBlankLine(chunk);
          yield chunk;
          continue;
        }
        const out = rewriter.write(chunk);
        if (out.length > 0) yield out;
      }
      if (rewriter) {
        const tail = rewriter.end();
        if (tail.length > 0) yield tail;
      }
    } catch (err) {
      // The client left and its abort tore the upstream body down: nobody is there to tell.
      if (clientSignal.aborted) return;
      const error = upstreamTransportError(err);
      onUpstreamFailure(error);
      const body = { error: { ...error.toJSON().error, message: `Upstream stream failed: ${error.message}` } };
      yield `${atEventBoundary ? '' : '\n\n'}data: ${JSON.stringify(body)}\n\n`;
    }
  }
  return Readable.from(relay(), { objectMode: false });
}

function endsWithBlankLine(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (n >= 3 && chunk[n - 2] === 13 && chunk[n - 3] === 10));
}
