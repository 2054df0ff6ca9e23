import { EventEmitter } from 'node:events';

/**
 * Fires when the client goes away before its response is complete, so the upstream request is
 * aborted. undici takes an EventEmitter that emits 'abort' as a signal; it costs a fraction of an
 * AbortController, which matters on a path taken by every request.
 */
export class ClientGone extends EventEmitter {
  aborted = false;

  /** The client went away (its response closed unfinished): the upstream request is aborted. */
  cut(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** What upstream calls accept as a cancellation signal. */
export type CancelSignal = ClientGone;
