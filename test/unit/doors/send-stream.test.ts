/**
 * doors/send.ts's stream branch, over real HTTP: the head the answer goes out with, and a head Node
 * refuses to write. No upstream can send such a header today (undici refuses the bytes), so the
 * result is built here; what is checked is that the reply is still answered, with a 502, and the
 * upstream let go rather than held open behind a reply nobody will finish.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { chatDoor } from '../../../src/doors/chat/encode.js';
import { sendResult } from '../../../src/doors/send.js';
import type { AnswerSink, PipelineResult, Prepared, StreamedAnswer } from '../../../src/pipeline/types.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A streamed answer that writes two events when started, and records being abandoned. */
function answer(): StreamedAnswer & { abandoned: number } {
  return {
    abandoned: 0,
    start(sink: AnswerSink) {
      sink.write('data: {"x":1}\n\n');
      sink.write(Buffer.from('data: [DONE]\n\n'));
      sink.end();
    },
    drained() {},
    abandon() {
      this.abandoned++;
    },
  };
}

async function serve(headers: Record<string, string>, body: StreamedAnswer) {
  const app = Fastify();
  app.post('/', (_request, reply) => {
    const result: PipelineResult = { kind: 'stream', status: 200, headers, body, prefill: 'native' };
    return sendResult(reply, result, chatDoor, {} as Prepared);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  const { port } = app.server.address() as { port: number };
  return fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
}

describe('a streamed result goes out', () => {
  it('with the upstream headers, the stream headers and x-prefill, and the answer written through the sink', async () => {
    const body = answer();
    const response = await serve({ 'x-upstream': 'kept' }, body);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-upstream')).toBe('kept');
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(await response.text()).toBe('data: {"x":1}\n\ndata: [DONE]\n\n');
    expect(body.abandoned).toBe(0);
  });

  it('a header Node cannot write: a 502 upstream_invalid_response without it, and the answer abandoned', async () => {
    const body = answer();
    const response = await serve({ 'x-upstream': 'a\u0001b' }, body);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-upstream')).toBeNull();
    expect(await response.json()).toMatchObject({ code: 'upstream_invalid_response' });
    expect(body.abandoned).toBe(1);
  });
});
