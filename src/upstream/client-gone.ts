import { EventEmitter } from 'node:events';
import type { FastifyReply } from 'fastify';

/**
 * Fires when the client goes away before its response is complete, so the upstream request is
 * aborted. undici takes an EventEmitter that emits 'abort' as a signal; it costs a fraction of an
 * AbortController, which matters on a path taken by every request.
 */
export class ClientGone extends EventEmitter {
  aborted = false;

  static watch(reply: FastifyReply): ClientGone {
    const signal = new ClientGone();
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      signal.aborted = true;
      signal.emit('abort');
    });
    return signal;
  }
}

/** What upstream calls accept as a cancellation signal. */
export type CancelSignal = ClientGone;
