import { createRequire } from 'node:module';
import type { EventStreamCodec } from '@smithy/eventstream-codec';

/**
 * The AWS event-stream codec (@smithy/eventstream-codec), loaded on first use only: users without a
 * Bedrock upstream never load it. A Bedrock request starts loading it (`preloadEventStreamCodec`) while
 * the upstream is called, so it is there when the answer streams; a decoder that needs it sooner loads it
 * at once.
 */

let codec: EventStreamCodec | undefined;
let loading: Promise<EventStreamCodec> | undefined;

export function preloadEventStreamCodec(): Promise<EventStreamCodec> {
  loading ??= Promise.all([import('@smithy/eventstream-codec'), import('@smithy/util-utf8')]).then(
    ([{ EventStreamCodec: Codec }, { toUtf8, fromUtf8 }]) => (codec ??= new Codec(toUtf8, fromUtf8)),
  );
  return loading;
}

/** The codec, loading it synchronously if the preload has not finished. */
export function eventStreamCodec(): EventStreamCodec {
  if (codec) return codec;
  const require = createRequire(import.meta.url);
  const { EventStreamCodec: Codec } = require('@smithy/eventstream-codec') as typeof import('@smithy/eventstream-codec');
  const { toUtf8, fromUtf8 } = require('@smithy/util-utf8') as typeof import('@smithy/util-utf8');
  codec = new Codec(toUtf8, fromUtf8);
  return codec;
}

/** One decoded frame: its string headers and its payload bytes. */
export interface EventStreamFrame {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The smallest frame: prelude (12 bytes) and message CRC (4). */
const MIN_FRAME_BYTES = 16;

/**
 * Splits AWS event-stream bytes into frames as they arrive: each frame starts with its total length
 * (uint32, big-endian), so a frame split across chunks waits for its end, and several frames in one
 * chunk are all read. Chunks are held in a list, never re-concatenated as they grow, and each frame is
 * copied once at most; a frame longer than `maxFrameBytes` is refused before it is held.
 */
export class EventStreamSplitter {
  private chunks: Buffer[] = [];
  private held = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (frame: EventStreamFrame) => void,
  ) {}

  /** Bytes of an incomplete frame held. */
  get pending(): number {
    return this.held;
  }

  /** Throws FrameError on a frame that is too large or damaged. */
  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.held += bytes.length;
    while (this.held >= 4) {
      const length = this.peekLength();
      if (length < MIN_FRAME_BYTES) throw new FrameError('invalid', `The upstream sent an event-stream frame of ${length} bytes (at least ${MIN_FRAME_BYTES}).`);
      if (length > this.maxFrameBytes) throw new FrameError('too_large', `The upstream sent an event-stream frame of ${length} bytes.`);
      if (this.held < length) return;
      const frame = this.take(length);
      let message;
      try {
        message = eventStreamCodec().decode(frame);
      } catch (err) {
        throw new FrameError('invalid', `The upstream sent a damaged event-stream frame (${(err as Error).message}).`);
      }
      const headers: Record<string, string> = {};
      for (const [name, header] of Object.entries(message.headers)) headers[name] = String(header.value);
      this.onFrame({ headers, body: message.body });
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks, 4).readUInt32BE(0);
  }

  /** The first `length` bytes held, removed from the list. */
  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let frame: Buffer;
    if (first.length >= length) {
      frame = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      frame = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.chunks[0]!;
        const used = Math.min(chunk.length, length - filled);
        chunk.copy(frame, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(used);
      }
    }
    this.held -= length;
    return frame;
  }
}

export class FrameError extends Error {
  constructor(
    readonly kind: 'too_large' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}
