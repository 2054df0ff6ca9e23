import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalidUpstreamResponse } from '../errors.js';
import type { AppContext } from '../pipeline/context.js';
import type { RunEnvironment } from '../pipeline/run.js';
import type { AnswerSink, Door, PipelineRequest, PipelineResult, Prepared, StreamedAnswer } from '../pipeline/types.js';
import { prepare } from '../pipeline/prepare.js';

/** The request prepared again for a fallback model (routed like any model name). */
function prepareFallback(context: AppContext, pipelineRequest: PipelineRequest | undefined, model: string) {
  if (!pipelineRequest || !context.router.resolve(model)) return undefined;
  // The door's own body goes too: a fallback of the door's format gets it as it came (renamed). The
  // client's raw bytes do not: they name the model the client asked for, not this one.
  return prepare(context, { ...pipelineRequest, raw: undefined, chat: { ...pipelineRequest.chat, model } }, undefined);
}

/** What the pipeline needs of the HTTP exchange and the app, for one request of any door. */
export function runEnvironment(context: AppContext, request: FastifyRequest, reply: FastifyReply, pipelineRequest?: PipelineRequest): RunEnvironment {
  return {
    signal: request.clientGone,
    telemetry: request.telemetry,
    limits: context.config.limits,
    secrets: context.secrets.forRequest(request.headers),
    streams: context.streams,
    learned: context.prefillCapabilities,
    prepareFor: (model) => prepareFallback(context, pipelineRequest, model),
  };
}

/**
 * Writes a pipeline result through the door's wire format: the upstream's bytes as they came, a whole
 * answer encoded, or the stream. Every answer says how the prefill was served (`x-prefill`), and whole
 * answers what the proxy's own time was (`Server-Timing: upstream;dur=…, proxy;dur=…`).
 */
export function sendResult(reply: FastifyReply, result: PipelineResult, door: Door, prepared: Prepared): FastifyReply {
  reply.code(result.status).headers(result.headers).header('x-prefill', result.prefill);
  if (result.upstream) reply.header('x-prefill-upstream', result.upstream);
  switch (result.kind) {
    case 'bytes':
      serverTiming(reply);
      if (result.length !== undefined && !Buffer.isBuffer(result.body)) reply.header('content-length', String(result.length));
      return reply.send(result.body);
    case 'answer':
      serverTiming(reply);
      return reply.header('content-type', 'application/json; charset=utf-8').send(door.encodeAnswer(result.answer, prepared));
    case 'stream': {
      reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').header('x-accel-buffering', 'no');
      // The answer writes to the response itself (see AnswerSink); Fastify's onResponse hooks still
      // run when it finishes. A header Node refuses to send (a byte HTTP does not allow in its value)
      // is the upstream's: a 502 in the door's shape, and the upstream let go.
      const res = reply.raw;
      try {
        res.writeHead(result.status, reply.getHeaders() as OutgoingHttpHeaders);
      } catch (err) {
        result.body.abandon();
        for (const name in result.headers) reply.removeHeader(name);
        throw invalidUpstreamResponse('The upstream answered with a header that cannot be passed on.', err);
      }
      reply.hijack();
      result.body.start(responseSink(res, result.body));
      return reply;
    }
    default: {
      const unexpected: never = result;
      throw new Error(`unknown result ${JSON.stringify(unexpected)}`);
    }
  }
}

/**
 * The client's response as a streamed answer's sink: its pace (a write the socket could not take
 * whole) and its departure (closed before the end) go back to the answer.
 */
function responseSink(res: ServerResponse, answer: StreamedAnswer): AnswerSink {
  let waiting = false;
  const onDrain = () => {
    waiting = false;
    answer.drained();
  };
  res.once('close', () => {
    if (!res.writableFinished) answer.abandon();
  });
  return {
    write(bytes) {
      if (res.write(bytes)) return true;
      if (!waiting) {
        waiting = true;
        res.once('drain', onDrain);
      }
      return false;
    },
    end() {
      res.end();
    },
  };
}

function serverTiming(reply: FastifyReply): void {
  const telemetry = reply.request.telemetry;
  const upstreamMs = telemetry.upstreamMs;
  const proxyMs = Math.max(0, reply.elapsedTime - upstreamMs);
  telemetry.overhead(proxyMs);
  reply.header('server-timing', `upstream;dur=${upstreamMs.toFixed(2)}, proxy;dur=${proxyMs.toFixed(2)}`);
}
