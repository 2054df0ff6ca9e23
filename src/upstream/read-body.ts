import type { Readable } from 'node:stream';
import { proxyError, upstreamTransportError } from '../errors.js';

/** Reads a whole (bounded) upstream body as UTF-8; used for error bodies and answers to rewrite. */
export async function readBodyText(body: Readable, limitBytes: number): Promise<string> {
  return (await readBody(body, limitBytes)).toString('utf8');
}

/**
 * Reads a whole (bounded) upstream body. A body that stalls or breaks after the headers is the
 * upstream's failure (504 upstream_body_timeout, 502 upstream_connection_lost), like one before them.
 */
export async function readBody(body: Readable, limitBytes: number, knownLength?: number): Promise<Buffer> {
  if (knownLength !== undefined && knownLength > limitBytes) {
    abandonBody(body);
    throw tooLarge(limitBytes);
  }
  try {
    return await read(body, limitBytes, knownLength);
  } catch (err) {
    throw upstreamTransportError(err);
  }
}

function tooLarge(limitBytes: number) {
  return proxyError('upstream_response_too_large', `The upstream answer exceeds ${limitBytes} bytes (UPSTREAM_MAX_BODY_BYTES).`);
}

async function read(body: Readable, limitBytes: number, knownLength: number | undefined): Promise<Buffer> {
  // undici's body reads itself whole far more cheaply than async iteration does, when the length is
  // known to be within the limit.
  const consumable = body as Readable & { arrayBuffer?: () => Promise<ArrayBuffer> };
  if (knownLength !== undefined && knownLength <= limitBytes && typeof consumable.arrayBuffer === 'function') {
    return Buffer.from(await consumable.arrayBuffer());
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      abandonBody(body);
      throw tooLarge(limitBytes);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

const ignore = (): void => {};

/**
 * Stops reading a body now (the answer is not wanted, or must stop generating). undici reports a body
 * destroyed before its end as an abort error; with no listener that error would be uncaught and end the
 * process, so it is swallowed here: every body the proxy drops goes through this or `drainBody`.
 */
export function abandonBody(body: Readable): void {
  body.on('error', ignore);
  if (!body.destroyed) body.destroy();
}

/** Bytes of an unwanted answer read (and thrown away) to keep its connection for the next request. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Drops an unwanted answer (an error body before a retry, a stream that was not one), keeping its
 * connection when the rest is short: at most DRAIN_LIMIT_BYTES are read, then the body is abandoned.
 * A connection failing meanwhile is nobody's concern.
 */
export function drainBody(body: Readable): void {
  const dumpable = body as Readable & { dump?: (options: { limit: number }) => Promise<unknown> };
  if (typeof dumpable.dump !== 'function') {
    abandonBody(body);
    return;
  }
  body.on('error', ignore);
  dumpable.dump({ limit: DRAIN_LIMIT_BYTES }).catch(ignore);
}
