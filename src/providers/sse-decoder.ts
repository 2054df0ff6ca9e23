import type { AnswerEvent } from '../answer/types.js';
import { SseParser, type SseEvent } from '../sse/parser.js';
import { eventTooLarge, type DecoderOptions, type StreamDecoder } from './types.js';

/**
 * What every SSE dialect's decoder shares: bytes decoded as UTF-8 (a character split between chunks
 * waits for its end), events parsed incrementally with a bound on their size, and `onEvent` to read
 * each. A stream whose event would not fit ends with an error event.
 */
export abstract class SseStreamDecoder implements StreamDecoder {
  private readonly text = new TextDecoder('utf-8');
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
    this.parser.push(this.text.decode(bytes, { stream: true }));
  }

  end(): void {
    const rest = this.text.decode();
    if (rest) this.parser.push(rest);
    this.parser.end();
    if (!this.failed) this.onEnd();
  }

  protected abstract onEvent(event: SseEvent): void;

  /** The stream ended (and did not fail): anything owed. */
  protected onEnd(): void {}
}
