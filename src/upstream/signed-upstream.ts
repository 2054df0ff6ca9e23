import type { Readable } from 'node:stream';
import type { SignatureV4 } from '@smithy/signature-v4';
import type { Upstream, UpstreamRequest, UpstreamResponse } from './types.js';

/** Static AWS credentials (an access key pair, with the session token of temporary credentials). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials from a provider expire. */
  expiration?: Date;
}

/**
 * Where a signer's credentials come from: fixed ones, or a provider asked at each signing (AWS's
 * default chain, aws-credentials.ts), which caches them and fetches new ones before they expire.
 */
export type AwsCredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

export interface SigV4Settings {
  /** The signing name (`bedrock` for Bedrock Runtime: not its host's `bedrock-runtime`). */
  service: string;
  region: string;
  credentials: AwsCredentialSource;
}

/** A request as it is signed: the path below the origin (base path included), encoded exactly as it is sent. */
export interface SigningInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** Headers the signer sets itself: a client's own are never sent. */
const SET_BY_SIGNER = new Set(['authorization', 'host', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token']);

/**
 * An upstream whose every request is signed with AWS Signature Version 4 (@smithy/signature-v4, loaded on
 * first use) just before it is sent: each retry is signed anew, with the final path, headers and body.
 *
 * What is signed: `host` (as the HTTP client sends it: no port for the scheme's default), `content-type`,
 * the `x-amz-*` headers (date, body hash, session token) and any other `x-amz-`/`x-amzn-` header the
 * request carries. Other headers go unsigned, so nothing that may change on the way can break the
 * signature. The path goes out encoded once (`…v1%3A0…`) and the signer encodes it once more for the
 * canonical request (`…v1%253A0…`), as AWS does on its side for every service but S3.
 */
export class SigV4Upstream implements Upstream {
  readonly description: string;
  private readonly protocol: string;
  private readonly host: string;
  private readonly hostname: string;
  private readonly port: number | undefined;
  private signer: Promise<SignatureV4> | undefined;

  constructor(
    private readonly inner: Upstream,
    private readonly settings: SigV4Settings & { origin: string; basePath: string },
  ) {
    this.description = inner.description;
    const url = new URL(settings.origin);
    this.protocol = url.protocol;
    this.host = url.host;
    this.hostname = url.hostname;
    this.port = url.port ? Number(url.port) : undefined;
  }

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const body = await bodyOf(request.body);
    const headers = await this.sign({ method: request.method, path: this.settings.basePath + request.path, headers: request.headers, body });
    // A request without a body (GET) goes without one; its signed hash is that of no bytes.
    return this.inner.request({ ...request, headers, body: request.body === undefined || request.body === null ? request.body : body });
  }

  /** The headers to send with this request: its own (less the signer's), the signed ones and `authorization`. */
  async sign(input: SigningInput, signingDate = new Date()): Promise<Record<string, string>> {
    const signer = await this.loadSigner();
    const unsigned: Record<string, string> = {};
    const toSign: Record<string, string> = { host: this.host };
    for (const [name, value] of Object.entries(input.headers)) {
      const lower = name.toLowerCase();
      if (SET_BY_SIGNER.has(lower)) continue;
      if (lower === 'content-type' || lower.startsWith('x-amz-') || lower.startsWith('x-amzn-')) toSign[lower] = value;
      else unsigned[name] = value;
    }
    const query = input.path.indexOf('?');
    const signed = await signer.sign(
      {
        method: input.method,
        protocol: this.protocol,
        hostname: this.hostname,
        port: this.port,
        path: query === -1 ? input.path : input.path.slice(0, query),
        query: query === -1 ? {} : parseQuery(input.path.slice(query + 1)),
        headers: toSign,
        body: input.body,
      },
      { signingDate },
    );
    return { ...unsigned, ...(signed.headers as Record<string, string>) };
  }

  private loadSigner(): Promise<SignatureV4> {
    const { service, region, credentials } = this.settings;
    this.signer ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]).then(
      ([{ SignatureV4: Signer }, { Hash }]) =>
        new Signer({ service, region, credentials, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: true }),
    );
    return this.signer;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The body as the bytes that will be sent (a stream is read whole first: its hash is signed). */
async function bodyOf(body: UpstreamRequest['body']): Promise<string | Buffer> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A raw query string as the signer takes it: decoded names and values (it encodes them itself). */
function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decode(part.slice(eq + 1));
    const prior = query[name];
    query[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return query;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
