import type { Readable } from 'node:stream';
import { ProxyError } from '../errors.js';

/** Reads a whole (bounded) upstream body as UTF-8; used for error bodies and answers to rewrite. */
export async function readBodyText(body: Readable, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      body.destroy();
      throw new ProxyError(502, `The upstream answer exceeds ${limitBytes} bytes.`, { code: 'upstream_response_too_large' });
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
}
