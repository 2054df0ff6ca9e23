import { StringDecoder } from 'node:string_decoder';
import type { AnswerEvent } from '../answer/types.js';
import { SseParser, type SseEvent } from '../sse/parser.js';
import { eventTooLarge, type DecoderOptions, type StreamDecoder } from './types.js';

/**
 * What every SSE dialect's decoder shares: bytes decoded as UTF-8 (a character split between chunks
 * waits for its end), events parsed incrementally with a bound on their size, and `onEvent` to read
 * each. A stream whose event would not fit ends with an error event.
 */
export abstract class SseStreamDecoder implements StreamDecoder {
  // StringDecoder rather than TextDecoder: the same UTF-8 (a character split between chunks waits, a
  // bad byte becomes U+FFFD) at half the cost per stream, which matters when only its first events
  // are read. TextDecoder dropped a leading byte order mark, as the SSE spec asks: done below.
  private readonly text = new StringDecoder('utf8');
  private atStart = true;
  private readonly parser: SseParser;
  protected failed = false;

  constructor(
    protected readonly emit: (event: AnswerEvent) => void,
    options: DecoderOptions,
  ) {
    this.parser = new SseParser(
      (event) => {
        if (!this.failed) this.onEvent(event);
      },
      options.maxEventBytes,
      () => {
        this.failed = true;
        this.emit(eventTooLarge(options.maxEventBytes));
      },
    );
  }

  get atEventBoundary(): boolean {
    return this.parser.atEventBoundary;
  }

  write(bytes: Buffer): void {
    let text = this.text.write(bytes);
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.parser.push(text);
  }

  end(): void {
    const rest = this.text.end();
    if (rest) this.parser.push(rest);
    this.parser.end();
    if (!this.failed) this.onEnd();
  }

  protected abstract onEvent(event: SseEvent): void;

  /** The stream ended (and did not fail): anything owed. */
  protected onEnd(): void {}
}
