export interface SseEvent {
  /** The `event:` field, undefined for the default `message` event. */
  event: string | undefined;
  /** `data:` lines joined with "\n". */
  data: string;
}

/**
 * An incremental Server-Sent Events parser (WHATWG HTML §9.2.6): LF, CRLF and CR line endings, a CRLF
 * split across chunks, comments (`:` lines, which OpenRouter sends as keep-alives), multi-line data and
 * named events. Only the new chunk is searched for line ends, so a long stream costs linear time.
 */
export class SseParser {
  private partialLine = '';
  private skipNextLf = false;
  private eventName: string | undefined;
  private dataLines: string[] = [];
  /** Characters of the event being read (its data lines and the line still open). */
  private eventSize = 0;
  private overflowed = false;

  /**
   * @param maxEventChars the largest event (data lines and any one line) the parser holds; beyond it
   *   `onTooLarge` is called once and the rest of the input is ignored, so one endless line costs a
   *   bounded amount of memory.
   */
  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly maxEventChars = Number.POSITIVE_INFINITY,
    private readonly onTooLarge: () => void = () => {},
  ) {}

  push(chunk: string): void {
    if (this.overflowed) return;
    let start = 0;
    if (this.skipNextLf) {
      this.skipNextLf = false;
      if (chunk.charCodeAt(0) === 10) start = 1;
    }
    // Line ends found with the native string search (a chunk is mostly long data lines); CR is rare.
    let nextLf = chunk.indexOf('\n', start);
    let nextCr = chunk.indexOf('\r', start);
    while (nextLf !== -1 || nextCr !== -1) {
      let i = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
      const piece = chunk.slice(start, i);
      const line = this.partialLine.length > 0 ? this.partialLine + piece : piece;
      this.partialLine = '';
      if (i === nextCr) {
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipNextLf = true;
        }
      }
      start = i + 1;
      this.line(line);
      if (this.overflowed) return;
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf('\r', start);
    }
    if (start < chunk.length) {
      this.partialLine += chunk.slice(start);
      if (this.eventSize + this.partialLine.length > this.maxEventChars) this.overflow();
    }
  }

  private overflow(): void {
    this.overflowed = true;
    this.partialLine = '';
    this.dataLines = [];
    this.onTooLarge();
  }

  /** True between events: nothing of a next event has been read yet. */
  get atEventBoundary(): boolean {
    return this.partialLine.length === 0 && this.dataLines.length === 0 && this.eventName === undefined && !this.skipNextLf;
  }

  /** The stream ended: an event without its closing blank line is dropped, as the spec says. */
  end(): void {
    this.partialLine = '';
    this.dataLines = [];
    this.eventSize = 0;
    this.eventName = undefined;
  }

  private line(line: string): void {
    if (line.length === 0) {
      if (this.dataLines.length > 0) {
        const data = this.dataLines.length === 1 ? this.dataLines[0]! : this.dataLines.join('\n');
        const event = this.eventName;
        this.dataLines = [];
        this.eventSize = 0;
        this.eventName = undefined;
        this.onEvent({ event, data });
      } else {
        this.eventName = undefined;
      }
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.dataLines.push(value);
      this.eventSize += value.length + 1;
      if (this.eventSize > this.maxEventChars) this.overflow();
    }
    else if (field === 'event') this.eventName = value;
  }
}
