/**
 * Amazon Bedrock Runtime's Converse API (`POST /model/{modelId}/converse` and `/converse-stream`) as its
 * public documentation and the official SDK (@aws-sdk/client-bedrock-runtime) describe it:
 *
 * - Every request is authenticated. SigV4: the signature is recomputed from what was received (method, the
 *   raw path as sent, query, the headers the Authorization header lists, the sha256 of the body bytes) with
 *   @smithy/signature-v4, exactly as AWS does for non-S3 services (the already URL-encoded path is encoded
 *   once more: `v1%3A0` is signed as `v1%253A0`). Failures answer 403 with AWS's own error types and
 *   texts. A Bedrock API key (`Authorization: Bearer …`) is accepted when `apiKey` is set.
 * - Speaks HTTP/1.1 and cleartext HTTP/2 on one port: the official SDK uses HTTP/2 (NodeHttp2Handler, prior
 *   knowledge) even for an `http://` endpoint, while undici/fetch speak HTTP/1.1.
 * - Errors are `x-amzn-errortype: <Type>:<namespace>` + JSON `{"message": …}` with the statuses of the API
 *   reference; model-side (Anthropic) validation errors are wrapped as Bedrock does:
 *   "The model returned the following errors: …".
 * - Deterministic model: a trailing assistant message is continued (the answer holds only the continuation)
 *   for models that accept prefill; Claude 4.6 and later refuse it with Anthropic's wording; Claude rejects a
 *   final assistant text ending in whitespace; `maxTokens` caps the answer (one token per word);
 *   `stopSequences` cut it; extended thinking (`additionalModelRequestFields.thinking`) on Claude adds a
 *   `reasoningContent` block; a tool plus a prompt about "weather" (or a forced `toolChoice`) gives a
 *   `toolUse` block.
 * - ConverseStream answers `application/vnd.amazon.eventstream` frames (`:event-type`, `:content-type`,
 *   `:message-type` headers; payloads carry the `p` padding field real Bedrock adds), one text delta per
 *   word; options inject an exception frame mid-stream or drop the connection after N events.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants as http2Constants, createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

// ---------------------------------------------------------------------------------------------------------
// Deterministic "model" output. Tests compare against these.

/** The whole answer to a conversation that ends with a user message. */
export const BEDROCK_ANSWER = 'The little fox ran home and slept under a tall tree.';
/** What follows an assistant prefill (never repeats the prefix). Starts with a space, like a tokenizer would. */
export const BEDROCK_CONTINUATION = ' jumped over the lazy dog and ran home.';
/** Text the model says before it calls a tool. */
export const BEDROCK_TOOL_PREAMBLE = "I'll check the weather for you.";
/** The answer once the conversation ends with a `toolResult`. */
export const BEDROCK_TOOL_RESULT_ANSWER = 'It is sunny in Paris today.';
/** The `toolUseId` of the documented example (Bedrock user guide, "Call a tool with the Converse API"). */
export const BEDROCK_TOOL_USE_ID = 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q';
export const BEDROCK_TOOL_INPUT = { location: 'Paris' };
/** Extended-thinking text and signature (Claude models with `additionalModelRequestFields.thinking`). */
export const BEDROCK_REASONING = 'The user wants a short answer. I will keep it to one sentence.';
export const BEDROCK_REASONING_SIGNATURE = 'EqoBCkgIAxABGAIiQL8mX2rQm0Wl3d1ZsJb4Jdkq9yTqg4Vq';

/** Anthropic's refusal for Claude 4.6+, as Bedrock wraps it (ValidationException, HTTP 400). */
export const BEDROCK_PREFILL_REFUSAL =
  'The model returned the following errors: This model does not support assistant message prefill. The conversation must end with a user message.';
export const BEDROCK_TRAILING_WHITESPACE =
  'The model returned the following errors: messages: final assistant content cannot end with trailing whitespace';
export const BEDROCK_INVALID_MODEL = 'The provided model identifier is invalid.';
export const BEDROCK_SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const BEDROCK_INVALID_TOKEN = 'The security token included in the request is invalid.';

/** Base model IDs the mock knows (Bedrock's own names; 4.6+ dropped the date and, after Opus 4.6, `-v1`). */
export const BEDROCK_MODELS = [
  'anthropic.claude-3-haiku-20240307-v1:0',
  'anthropic.claude-3-5-sonnet-20240620-v1:0',
  'anthropic.claude-3-5-sonnet-20241022-v2:0',
  'anthropic.claude-3-5-haiku-20241022-v1:0',
  'anthropic.claude-3-7-sonnet-20250219-v1:0',
  'anthropic.claude-sonnet-4-20250514-v1:0',
  'anthropic.claude-opus-4-20250514-v1:0',
  'anthropic.claude-opus-4-1-20250805-v1:0',
  'anthropic.claude-sonnet-4-5-20250929-v1:0',
  'anthropic.claude-haiku-4-5-20251001-v1:0',
  'anthropic.claude-opus-4-5-20251101-v1:0',
  'anthropic.claude-opus-4-6-v1',
  'anthropic.claude-sonnet-4-6',
  'anthropic.claude-opus-4-7',
  'meta.llama3-8b-instruct-v1:0',
  'meta.llama3-70b-instruct-v1:0',
  'meta.llama3-1-70b-instruct-v1:0',
  'mistral.mistral-large-2402-v1:0',
  'mistral.mistral-large-2407-v1:0',
  'amazon.nova-lite-v1:0',
  'amazon.nova-pro-v1:0',
];

/** Cross-region inference profile prefixes (`us.anthropic…`, `global.anthropic…`). */
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|global|us-gov)\./;

// ---------------------------------------------------------------------------------------------------------
// Options and public surface

export interface BedrockCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface BedrockMockOptions {
  port?: number;
  /** Credentials the signature must be made with. Default AKIDTEST / test-secret, no session token. */
  credentials?: BedrockCredentials;
  /** Region of the credential scope. Default us-east-1. */
  region?: string;
  /** Also accept `Authorization: Bearer <apiKey>` (Bedrock API keys). */
  apiKey?: string;
  /** Accept any request without checking its authentication. */
  skipAuth?: boolean;
  /** Allowed clock skew of `x-amz-date`. Default 5 minutes, as AWS. */
  maxSkewMs?: number;
  /** Answer every authenticated request with this error (`times` requests only, when given). */
  failWith?: { status: number; errorType: string; message: string; times?: number };
  /** ConverseStream: destroy the connection after this many events. */
  dropAfterEvents?: number;
  /** ConverseStream: send an exception frame after this many events, then end the stream. */
  streamException?: { afterEvents: number; type: string; message: string; originalStatusCode?: number; originalMessage?: string };
  /** Models that refuse prefill (tested against the base model ID). Default: Claude 4.6 and later. */
  noPrefillModels?: RegExp;
  /** Extra base model IDs to accept. */
  models?: string[];
  /** Reject base IDs of newer models called without an inference profile, as Bedrock does. Default false. */
  requireInferenceProfile?: boolean;
  /** ConverseStream: answer these exact event-stream bytes (a recorded fixture) instead of generating events. */
  replayStream?: Uint8Array;
  /** Add Bedrock's `p` padding field to event payloads. Default true. */
  padding?: boolean;
  /** Milliseconds to wait between stream events. Default 0 (a macrotask turn only). */
  eventDelayMs?: number;
  /** Value reported as `metrics.latencyMs`. Default 120. */
  latencyMs?: number;
}

export interface BedrockRecordedRequest {
  httpVersion: string;
  method: string;
  /** Path and query exactly as received (still URL-encoded). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  body: string;
  json: Record<string, unknown> | undefined;
  /** Decoded model ID from the path, when the path is a Converse route. */
  modelId?: string;
  operation?: 'converse' | 'converse-stream';
  auth: 'sigv4' | 'bearer' | 'none';
  /** Why authentication failed, when it did. */
  authError?: { type: string; message: string; canonicalRequest?: string; stringToSign?: string };
  status?: number;
}

export interface BedrockMockCounters {
  /** Every request received, whatever its fate. */
  requests: number;
  http1: number;
  http2: number;
  /** Authenticated requests routed to each operation (before validation). */
  converse: number;
  converseStream: number;
  /** 403s from SigV4 / API-key checks. */
  authFailures: number;
  /** Every error answer (auth failures, `failWith`, validation). */
  errors: number;
  /** Responses whose connection closed before they were finished (client gone, or `dropAfterEvents`). */
  aborted: number;
}

export interface BedrockMock {
  url: string;
  region: string;
  credentials: BedrockCredentials;
  requests: BedrockRecordedRequest[];
  counters: BedrockMockCounters;
  /** Responses whose connection closed before they were finished. */
  aborted: () => number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Event-stream framing (also useful to tests of the proxy's decoder)

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export interface BedrockStreamEvent {
  /** `:event-type` (message type `event`) or `:exception-type` (message type `exception`). */
  type: string;
  payload: Record<string, unknown>;
  exception?: boolean;
}

/** One AWS event-stream frame (prelude, CRCs, headers, JSON payload) as Bedrock sends it. */
export function encodeBedrockEvent(event: BedrockStreamEvent): Uint8Array {
  const str = (value: string) => ({ type: 'string' as const, value });
  // Header order as observed on the wire: type, content type, message type.
  const headers: Record<string, { type: 'string'; value: string }> = event.exception
    ? { ':exception-type': str(event.type), ':content-type': str('application/json'), ':message-type': str('exception') }
    : { ':event-type': str(event.type), ':content-type': str('application/json'), ':message-type': str('event') };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(event.payload)) });
}

/** Decodes a whole event-stream body into its frames (headers as plain strings, payload parsed as JSON). */
export function decodeBedrockEvents(bytes: Uint8Array): Array<{ headers: Record<string, string>; payload: unknown }> {
  const out: Array<{ headers: Record<string, string>; payload: unknown }> = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset < bytes.byteLength; ) {
    // Each frame starts with its total length (big-endian uint32); decode() checks both CRCs.
    const length = view.getUint32(offset);
    const message = codec.decode(bytes.subarray(offset, offset + length));
    offset += length;
    const headers: Record<string, string> = {};
    for (const [name, header] of Object.entries(message.headers)) headers[name] = String(header.value);
    const text = toUtf8(message.body);
    out.push({ headers, payload: text ? JSON.parse(text) : undefined });
  }
  return out;
}

/** The path the official SDK sends for a model ID (the label is encoded with extendedEncodeURIComponent). */
export function bedrockPath(modelId: string, operation: 'converse' | 'converse-stream'): string {
  const label = /^[\w.~-]+$/.test(modelId)
    ? modelId
    : encodeURIComponent(modelId).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `/model/${label}/${operation}`;
}

// ---------------------------------------------------------------------------------------------------------
// The server

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly namespace = 'com.amazon.bedrock',
  ) {
    super(message);
  }
}

export async function startBedrockMock(options: BedrockMockOptions = {}): Promise<BedrockMock> {
  const credentials = options.credentials ?? { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
  const region = options.region ?? 'us-east-1';
  const requests: BedrockRecordedRequest[] = [];
  const counters: BedrockMockCounters = { requests: 0, http1: 0, http2: 0, converse: 0, converseStream: 0, authFailures: 0, errors: 0, aborted: 0 };
  const cacheSeen = new Set<string>();
  let failuresLeft = options.failWith?.times ?? Number.POSITIVE_INFINITY;
  const verifier = new SigV4Verifier({ service: 'bedrock', region, credentials, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });

  const handle = async (req: AnyRequest, res: AnyResponse): Promise<void> => {
    const reply = new Reply(res);
    res.on('close', () => {
      if (!reply.ended) counters.aborted++;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const rawBody = Buffer.concat(chunks);
    const body = rawBody.toString('utf8');
    let json: Record<string, unknown> | undefined;
    try {
      json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    const url = req.url ?? '/';
    const record: BedrockRecordedRequest = {
      httpVersion: req.httpVersion,
      method: req.method ?? 'GET',
      url,
      headers: { ...req.headers },
      rawBody,
      body,
      json,
      auth: 'none',
    };
    requests.push(record);
    counters.requests++;
    if (req.httpVersion.startsWith('2')) counters.http2++;
    else counters.http1++;
    const route = /^\/model\/([^/?]+)\/(converse|converse-stream)(?:\?.*)?$/.exec(url);
    if (route) {
      try {
        record.modelId = decodeURIComponent(route[1]!);
      } catch {
        record.modelId = route[1]!;
      }
      record.operation = route[2] as 'converse' | 'converse-stream';
    }

    try {
      if (!options.skipAuth) await authenticate(req, record);
      if (options.failWith && failuresLeft > 0) {
        failuresLeft--;
        throw new HttpError(options.failWith.status, options.failWith.errorType, options.failWith.message);
      }
      if (!route || record.method !== 'POST') {
        throw new HttpError(404, 'UnknownOperationException', `No operation matches ${record.method} ${url.split('?')[0]}`, 'com.amazon.coral.service');
      }
      if (record.operation === 'converse') counters.converse++;
      else counters.converseStream++;
      if (json === undefined || typeof json !== 'object' || Array.isArray(json)) {
        throw new HttpError(400, 'SerializationException', 'Malformed input request, please reformat your input and try again.', 'com.amazon.coral.service');
      }
      const plan = respond(record.modelId!, json);
      record.status = 200;
      if (record.operation === 'converse-stream' && options.replayStream) {
        reply.head(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        reply.write(options.replayStream);
        return reply.end();
      }
      if (record.operation === 'converse') return sendConverse(reply, plan);
      return await sendStream(reply, plan);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      record.status = err.status;
      counters.errors++;
      reply.error(err);
    }
  };

  async function authenticate(req: AnyRequest, record: BedrockRecordedRequest): Promise<void> {
    try {
      await checkAuth(req, record);
    } catch (err) {
      if (err instanceof HttpError) {
        counters.authFailures++;
        record.authError = { ...record.authError, type: err.type, message: err.message };
      }
      throw err;
    }
  }

  async function checkAuth(req: AnyRequest, record: BedrockRecordedRequest): Promise<void> {
    const authorization = headerValue(req.headers, 'authorization');
    const authError = (type: string, message: string) => new HttpError(403, type, message, 'com.amazon.coral.service');
    if (!authorization) throw authError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (/^Bearer /i.test(authorization)) {
      record.auth = 'bearer';
      const token = authorization.slice(7).trim();
      if (options.apiKey !== undefined && safeEqual(token, options.apiKey)) return;
      throw authError('UnrecognizedClientException', BEDROCK_INVALID_TOKEN);
    }
    record.auth = 'sigv4';
    const parsed = /^AWS4-HMAC-SHA256 (.*)$/s.exec(authorization);
    if (!parsed) throw authError('IncompleteSignatureException', `Authorization header requires 'Credential' parameter. Authorization=${authorization}`);
    const params = new Map<string, string>();
    for (const part of parsed[1]!.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
      if (!params.get(name)) throw authError('IncompleteSignatureException', `Authorization header requires '${name}' parameter. Authorization=${authorization}`);
    }
    const amzDate = headerValue(req.headers, 'x-amz-date');
    if (!amzDate) {
      throw authError('IncompleteSignatureException', `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`);
    }
    const [accessKeyId = '', shortDate = '', scopeRegion = '', scopeService = '', terminator = ''] = params.get('Credential')!.split('/');
    // Texts as AWS words them (each ends with a space: AWS concatenates them when several apply).
    if (terminator !== 'aws4_request') throw authError('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `);
    if (scopeService !== 'bedrock') throw authError('InvalidSignatureException', "Credential should be scoped to correct service: 'bedrock'. ");
    if (scopeRegion !== region) throw authError('InvalidSignatureException', 'Credential should be scoped to a valid region. ');
    if (!safeEqual(accessKeyId, credentials.accessKeyId)) throw authError('UnrecognizedClientException', BEDROCK_INVALID_TOKEN);
    const token = headerValue(req.headers, 'x-amz-security-token');
    if ((credentials.sessionToken ?? '') !== (token ?? '') || (token !== undefined && !params.get('SignedHeaders')!.split(';').includes('x-amz-security-token'))) {
      throw authError('UnrecognizedClientException', BEDROCK_INVALID_TOKEN);
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw authError('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
    if (shortDate !== amzDate.slice(0, 8)) {
      throw authError('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != '${amzDate.slice(0, 8)}', from 'X-Amz-Date'.`);
    }
    const now = Date.now();
    const skew = options.maxSkewMs ?? 5 * 60_000;
    const minutes = Math.round(skew / 60_000);
    if (signingDate.getTime() < now - skew) {
      throw authError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} (${formatAmzDate(now)} - ${minutes} min.)`);
    }
    if (signingDate.getTime() > now + skew) {
      throw authError('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} (${formatAmzDate(now)} + ${minutes} min.)`);
    }

    // Recompute the signature from what was received.
    const signedHeaders = params.get('SignedHeaders')!.split(';');
    const canonicalHeaders: Record<string, string> = {};
    for (const name of signedHeaders) {
      let value = headerValue(req.headers, name);
      // The SDK signs `:authority` on HTTP/2 and `host` on HTTP/1.1: both name the same thing.
      if (value === undefined && name === ':authority') value = headerValue(req.headers, 'host');
      if (value === undefined && name === 'host') value = headerValue(req.headers, ':authority');
      canonicalHeaders[name] = (value ?? '').replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim();
    }
    // Non-S3 services hash the body they received, whatever x-amz-content-sha256 claims.
    const payloadHash = createHash('sha256').update(record.rawBody).digest('hex');
    if ('x-amz-content-sha256' in canonicalHeaders && canonicalHeaders['x-amz-content-sha256'] !== payloadHash) {
      canonicalHeaders['x-amz-content-sha256'] = payloadHash;
    }
    const [path = '/', rawQuery = ''] = record.url.split(/\?(.*)/s);
    const expected = await verifier.expected(
      { method: record.method, protocol: 'http:', hostname: 'localhost', path, query: parseQuery(rawQuery), headers: canonicalHeaders },
      canonicalHeaders,
      payloadHash,
      signingDate,
      `${shortDate}/${scopeRegion}/${scopeService}/aws4_request`,
      scopeRegion,
      scopeService,
    );
    if (!safeEqual(expected.signature, params.get('Signature')!)) {
      record.authError = { type: 'InvalidSignatureException', message: '', canonicalRequest: expected.canonicalRequest, stringToSign: expected.stringToSign };
      throw authError(
        'InvalidSignatureException',
        `${BEDROCK_SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'${expected.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${expected.stringToSign}'\n`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // The model

  function respond(modelId: string, body: Record<string, unknown>): Plan {
    const base = resolveModel(modelId, options);
    if (!base) throw new HttpError(400, 'ValidationException', BEDROCK_INVALID_MODEL);
    if (options.requireInferenceProfile && base === modelId && /^anthropic\.claude-(3-7|sonnet-4|opus-4|haiku-4|sonnet-[5-9]|opus-[5-9])/.test(base)) {
      throw new HttpError(
        400,
        'ValidationException',
        `Invocation of model ID ${base} with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
      );
    }
    const claude = base.startsWith('anthropic.');
    const messages = validateMessages(body.messages);
    const inference = validateInferenceConfig(body.inferenceConfig);
    const tools = validateToolConfig(body.toolConfig);
    if (!tools && messages.some((m) => m.content.some((b) => 'toolUse' in b || 'toolResult' in b))) {
      throw new HttpError(400, 'ValidationException', 'The toolConfig field must be defined when using toolUse and toolResult content blocks.');
    }
    const extra = (body.additionalModelRequestFields ?? {}) as Record<string, unknown>;
    if (typeof extra !== 'object' || Array.isArray(extra)) throw new HttpError(400, 'ValidationException', 'The model returned the following errors: Malformed input request, please reformat your input and try again.');
    const allowed = claude ? ['top_k', 'thinking', 'anthropic_beta', 'output_config'] : ['top_k'];
    for (const key of Object.keys(extra)) {
      if (!allowed.includes(key)) {
        throw new HttpError(
          400,
          'ValidationException',
          claude
            ? `The model returned the following errors: ${key}: Extra inputs are not permitted`
            : `The model returned the following errors: Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`,
        );
      }
    }
    const thinkingField = extra.thinking as { type?: string; budget_tokens?: number } | undefined;
    const thinking = claude && (thinkingField?.type === 'enabled' || thinkingField?.type === 'adaptive');
    if (thinking && thinkingField?.type === 'enabled') {
      if (/^anthropic\.claude-opus-4-7/.test(base)) {
        throw new HttpError(400, 'ValidationException', 'The model returned the following errors: thinking.type.enabled is not supported for this model. Use thinking.type.adaptive instead.');
      }
      const budget = thinkingField.budget_tokens;
      if (typeof budget !== 'number' || budget < 1024) {
        throw new HttpError(400, 'ValidationException', 'The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
      }
      if (inference.maxTokens !== undefined && inference.maxTokens <= budget) {
        throw new HttpError(400, 'ValidationException', 'The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.');
      }
    }

    const last = messages[messages.length - 1]!;
    let prefix = '';
    let prefillHasReasoning = false;
    if (last.role === 'assistant') {
      const toolUse = last.content.find((b) => 'toolUse' in b);
      if (toolUse) {
        const id = (toolUse.toolUse as { toolUseId?: string }).toolUseId;
        throw new HttpError(
          400,
          'ValidationException',
          `The model returned the following errors: messages.${messages.length - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${id}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
      if ((options.noPrefillModels ?? /^anthropic\.claude-(opus|sonnet|haiku)-(4-([6-9]|\d\d)|[5-9])(-|$)/).test(base)) {
        throw new HttpError(400, 'ValidationException', BEDROCK_PREFILL_REFUSAL);
      }
      prefix = last.content.map((b) => (typeof b.text === 'string' ? b.text : '')).join('');
      prefillHasReasoning = 'reasoningContent' in (last.content[0] ?? {});
      if (claude && /\s$/.test(prefix)) throw new HttpError(400, 'ValidationException', BEDROCK_TRAILING_WHITESPACE);
      if (claude && thinking && !prefillHasReasoning) {
        throw new HttpError(
          400,
          'ValidationException',
          `The model returned the following errors: messages.${messages.length - 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`text\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`,
        );
      }
    }

    const blocks: PlanBlock[] = [];
    if (thinking && !prefillHasReasoning) blocks.push({ kind: 'reasoning', text: BEDROCK_REASONING, signature: BEDROCK_REASONING_SIGNATURE });
    let stopReason = 'end_turn';
    let matchedStop: string | null = null;
    const lastUserText = last.role === 'user' ? last.content.map((b) => (typeof b.text === 'string' ? b.text : '')).join(' ') : '';
    const endsWithToolResult = last.role === 'user' && last.content.some((b) => 'toolResult' in b);
    const forced = tools?.toolChoice && ('any' in tools.toolChoice || 'tool' in tools.toolChoice);
    if (tools && !endsWithToolResult && last.role === 'user' && (forced || /weather/i.test(lastUserText))) {
      const chosen = (tools.toolChoice?.tool as { name?: string } | undefined)?.name ?? tools.names[0]!;
      if (!forced) blocks.push({ kind: 'text', text: BEDROCK_TOOL_PREAMBLE });
      blocks.push({ kind: 'toolUse', toolUseId: BEDROCK_TOOL_USE_ID, name: chosen, input: BEDROCK_TOOL_INPUT });
      stopReason = 'tool_use';
    } else {
      let text = endsWithToolResult ? BEDROCK_TOOL_RESULT_ANSWER : last.role === 'assistant' ? BEDROCK_CONTINUATION : BEDROCK_ANSWER;
      // After a prefix that already ends in whitespace the model does not add another space.
      if (last.role === 'assistant' && /\s$/.test(prefix)) text = text.replace(/^\s+/, '');
      let cut = -1;
      for (const stop of inference.stopSequences ?? []) {
        const at = stop ? text.indexOf(stop) : -1;
        if (at >= 0 && (cut < 0 || at < cut)) {
          cut = at;
          matchedStop = stop;
        }
      }
      if (cut >= 0) {
        text = text.slice(0, cut);
        stopReason = 'stop_sequence';
      }
      let pieces = splitWords(text);
      if (inference.maxTokens !== undefined && pieces.length > inference.maxTokens) {
        pieces = pieces.slice(0, inference.maxTokens);
        stopReason = 'max_tokens';
        matchedStop = null;
      }
      blocks.push({ kind: 'text', text: pieces.join('') });
    }

    // Usage: one token per word; a cachePoint makes what precedes it cacheable (written once, then read).
    const system = Array.isArray(body.system) ? (body.system as Block[]) : [];
    const prompt: Block[] = [...system, ...messages.flatMap((m) => m.content)];
    const cachePointAt = prompt.findIndex((b) => 'cachePoint' in b);
    const allTokens = countTokens(prompt);
    const usage: Record<string, number> = { inputTokens: allTokens, outputTokens: 0, totalTokens: 0 };
    if (cachePointAt >= 0) {
      const cached = countTokens(prompt.slice(0, cachePointAt));
      const key = createHash('sha256').update(`${base}\n${JSON.stringify(prompt.slice(0, cachePointAt))}`).digest('hex');
      usage.inputTokens = allTokens - cached;
      usage.cacheReadInputTokens = cacheSeen.has(key) ? cached : 0;
      usage.cacheWriteInputTokens = cacheSeen.has(key) ? 0 : cached;
      cacheSeen.add(key);
    }
    usage.outputTokens = blocks.reduce((n, b) => n + (b.kind === 'toolUse' ? splitWords(JSON.stringify(b.input)).length : splitWords(b.text).length), 0);
    usage.totalTokens = usage.inputTokens! + usage.outputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0);

    const paths = Array.isArray(body.additionalModelResponseFieldPaths) ? (body.additionalModelResponseFieldPaths as string[]) : [];
    const additional = claude && paths.includes('/stop_sequence') ? { stop_sequence: matchedStop } : undefined;
    return { blocks, stopReason, usage, additional };
  }

  function sendConverse(reply: Reply, plan: Plan): void {
    const content = plan.blocks.map((b) => {
      if (b.kind === 'reasoning') return { reasoningContent: { reasoningText: { text: b.text, signature: b.signature } } };
      if (b.kind === 'toolUse') return { toolUse: { toolUseId: b.toolUseId, name: b.name, input: b.input } };
      return { text: b.text };
    });
    const payload: Record<string, unknown> = {
      output: { message: { role: 'assistant', content } },
      stopReason: plan.stopReason,
      usage: plan.usage,
      metrics: { latencyMs: options.latencyMs ?? 120 },
    };
    if (plan.additional) payload.additionalModelResponseFields = plan.additional;
    reply.json(200, payload);
  }

  async function sendStream(reply: Reply, plan: Plan): Promise<void> {
    const events: BedrockStreamEvent[] = [{ type: 'messageStart', payload: { role: 'assistant' } }];
    plan.blocks.forEach((block, contentBlockIndex) => {
      if (block.kind === 'reasoning') {
        for (const piece of splitWords(block.text)) {
          events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex, delta: { reasoningContent: { text: piece } } } });
        }
        events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex, delta: { reasoningContent: { signature: block.signature } } } });
      } else if (block.kind === 'toolUse') {
        events.push({ type: 'contentBlockStart', payload: { contentBlockIndex, start: { toolUse: { toolUseId: block.toolUseId, name: block.name } } } });
        const input = JSON.stringify(block.input);
        const half = Math.ceil(input.length / 2);
        for (const piece of [input.slice(0, half), input.slice(half)]) {
          events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex, delta: { toolUse: { input: piece } } } });
        }
      } else {
        for (const piece of splitWords(block.text)) events.push({ type: 'contentBlockDelta', payload: { contentBlockIndex, delta: { text: piece } } });
      }
      events.push({ type: 'contentBlockStop', payload: { contentBlockIndex } });
    });
    events.push({ type: 'messageStop', payload: { stopReason: plan.stopReason, ...(plan.additional ? { additionalModelResponseFields: plan.additional } : {}) } });
    events.push({ type: 'metadata', payload: { usage: plan.usage, metrics: { latencyMs: options.latencyMs ?? 120 } } });

    reply.head(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    for (let i = 0; i < events.length; i++) {
      if (options.dropAfterEvents !== undefined && i === options.dropAfterEvents) return reply.drop();
      if (options.streamException && i === options.streamException.afterEvents) {
        const e = options.streamException;
        const payload: Record<string, unknown> = { message: e.message };
        if (e.originalStatusCode !== undefined) payload.originalStatusCode = e.originalStatusCode;
        if (e.originalMessage !== undefined) payload.originalMessage = e.originalMessage;
        reply.write(encodeBedrockEvent({ type: e.type, payload, exception: true }));
        return reply.end();
      }
      const event = events[i]!;
      const payload = options.padding === false ? event.payload : { ...event.payload, p: padding(i) };
      reply.write(encodeBedrockEvent({ type: event.type, payload }));
      await new Promise((resolve) => (options.eventDelayMs ? setTimeout(resolve, options.eventDelayMs) : setImmediate(resolve)));
      if (reply.closed) return;
    }
    reply.end();
  }

  // -------------------------------------------------------------------------------------------------------
  // One port, two protocols: sniff the HTTP/2 connection preface.

  const onRequest = (req: AnyRequest, res: AnyResponse) => {
    handle(req, res).catch((err: unknown) => {
      const reply = new Reply(res);
      if (!res.headersSent) reply.error(new HttpError(500, 'InternalServerException', String(err)));
      else reply.drop();
    });
  };
  const http1 = createHttp1Server(onRequest);
  const http2 = createHttp2Server(onRequest);
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      socket.removeListener('readable', onReadable);
      socket.unshift(chunk);
      (chunk.subarray(0, 4).toString('latin1') === 'PRI ' ? http2 : http1).emit('connection', socket);
    };
    socket.on('readable', onReadable);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    region,
    credentials,
    requests,
    counters,
    aborted: () => counters.aborted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        http1.close();
        http2.close();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

type Block = Record<string, unknown> & { text?: unknown };
interface Message {
  role: 'user' | 'assistant';
  content: Block[];
}
type PlanBlock =
  | { kind: 'reasoning'; text: string; signature: string }
  | { kind: 'text'; text: string }
  | { kind: 'toolUse'; toolUseId: string; name: string; input: Record<string, unknown> };
interface Plan {
  blocks: PlanBlock[];
  stopReason: string;
  usage: Record<string, number>;
  additional?: Record<string, unknown>;
}

/** Exposes the canonical request and string to sign @smithy/signature-v4 computes, and the signature. */
class SigV4Verifier extends SignatureV4 {
  async expected(
    request: Parameters<SignatureV4['presign']>[0],
    canonicalHeaders: Record<string, string>,
    payloadHash: string,
    signingDate: Date,
    scope: string,
    signingRegion: string,
    signingService: string,
  ): Promise<{ canonicalRequest: string; stringToSign: string; signature: string }> {
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    const stringToSign = await this.createStringToSign(formatAmzDate(signingDate.getTime()), scope, canonicalRequest, 'AWS4-HMAC-SHA256');
    const signature = await this.sign(stringToSign, { signingDate, signingRegion, signingService });
    return { canonicalRequest, stringToSign, signature };
  }
}

/** One response API over node:http's and node:http2's compatibility objects. */
class Reply {
  sent = false;
  ended = false;
  closed = false;
  constructor(private readonly res: AnyResponse) {
    res.on('close', () => (this.closed = true));
  }
  head(status: number, headers: Record<string, string | number>): void {
    this.sent = true;
    (this.res as ServerResponse).writeHead(status, { 'x-amzn-requestid': randomUUID(), ...headers });
  }
  write(chunk: Uint8Array): void {
    if (!this.closed) (this.res as ServerResponse).write(chunk);
  }
  end(text?: string): void {
    this.ended = true;
    if (text === undefined) (this.res as ServerResponse).end();
    else (this.res as ServerResponse).end(text);
  }
  json(status: number, payload: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(payload);
    this.head(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    this.end(text);
  }
  error(err: HttpError): void {
    this.json(err.status, { message: err.message }, { 'x-amzn-errortype': `${err.type}:http://internal.amazon.com/coral/${err.namespace}/` });
  }
  /** Ends the connection abruptly (HTTP/2: RST_STREAM INTERNAL_ERROR; HTTP/1.1: socket destroyed). */
  drop(): void {
    const stream = (this.res as Http2ServerResponse).stream as Http2ServerResponse['stream'] | undefined;
    if (stream) stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    else (this.res as ServerResponse).socket?.destroy();
  }
}

function validateMessages(value: unknown): Message[] {
  const invalid = (message: string) => new HttpError(400, 'ValidationException', message);
  if (!Array.isArray(value) || value.length === 0) throw invalid('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  value.forEach((m: { role?: unknown; content?: unknown }, i) => {
    if (m?.role !== 'user' && m?.role !== 'assistant') {
      throw invalid(`1 validation error detected: Value '${String(m?.role)}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`);
    }
    if (i === 0 && m.role !== 'user') throw invalid('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
    if (i > 0 && (value[i - 1] as { role?: unknown }).role === m.role) {
      throw invalid('A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.');
    }
    if (!Array.isArray(m.content) || m.content.length === 0) {
      throw invalid(`The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`);
    }
    m.content.forEach((b: Block, j: number) => {
      const keys = b && typeof b === 'object' ? Object.keys(b) : [];
      if (keys.length !== 1) {
        throw invalid(`1 validation error detected: Value at 'messages.${i + 1}.member.content.${j + 1}.member' failed to satisfy constraint: Member must have exactly one member set`);
      }
      if ('text' in b && (typeof b.text !== 'string' || b.text.trim() === '')) {
        throw invalid(`The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`);
      }
      if ('image' in b) {
        const image = b.image as { format?: string; source?: { bytes?: unknown } };
        if (!['png', 'jpeg', 'gif', 'webp'].includes(String(image?.format))) {
          throw invalid(`1 validation error detected: Value '${String(image?.format)}' at 'messages.${i + 1}.member.content.${j + 1}.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]`);
        }
      }
    });
    if (i > 0 && m.role === 'user') {
      const results = m.content.filter((b: Block) => 'toolResult' in b).length;
      const uses = ((value[i - 1] as Message).content ?? []).filter((b) => 'toolUse' in b).length;
      if (results > uses) throw invalid(`The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`);
    }
  });
  return value as Message[];
}

function validateInferenceConfig(value: unknown): { maxTokens?: number; stopSequences?: string[] } {
  if (value === undefined) return {};
  const config = value as { maxTokens?: unknown; temperature?: unknown; topP?: unknown; stopSequences?: unknown };
  const bad = (field: string, v: unknown, constraint: string) =>
    new HttpError(400, 'ValidationException', `1 validation error detected: Value '${String(v)}' at 'inferenceConfig.${field}' failed to satisfy constraint: ${constraint}`);
  if (config.maxTokens !== undefined && (!Number.isInteger(config.maxTokens) || (config.maxTokens as number) < 1)) {
    throw bad('maxTokens', config.maxTokens, 'Member must have value greater than or equal to 1');
  }
  for (const field of ['temperature', 'topP'] as const) {
    const v = config[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || v < 0) throw bad(field, v, 'Member must have value greater than or equal to 0');
    if (v > 1) throw bad(field, v, 'Member must have value less than or equal to 1');
  }
  if (config.stopSequences !== undefined && (!Array.isArray(config.stopSequences) || config.stopSequences.some((s) => typeof s !== 'string'))) {
    throw bad('stopSequences', config.stopSequences, 'Member must be a list of strings');
  }
  return { maxTokens: config.maxTokens as number | undefined, stopSequences: config.stopSequences as string[] | undefined };
}

function validateToolConfig(value: unknown): { names: string[]; toolChoice?: Record<string, unknown> } | undefined {
  if (value === undefined) return undefined;
  const config = value as { tools?: Array<{ toolSpec?: { name?: string; inputSchema?: { json?: unknown } } }>; toolChoice?: Record<string, unknown> };
  if (!Array.isArray(config.tools) || config.tools.length === 0) {
    throw new HttpError(400, 'ValidationException', "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  const names: string[] = [];
  config.tools.forEach((tool, i) => {
    const spec = tool?.toolSpec;
    if (!spec) return; // cachePoint / systemTool entries
    if (typeof spec.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
      throw new HttpError(
        400,
        'ValidationException',
        `1 validation error detected: Value '${String(spec.name)}' at 'toolConfig.tools.${i + 1}.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+`,
      );
    }
    if (!spec.inputSchema || typeof spec.inputSchema.json !== 'object') {
      throw new HttpError(400, 'ValidationException', `The json field in the ToolInputSchema object at toolConfig.tools.${i}.toolSpec.inputSchema is missing. Add a JSON schema and try again.`);
    }
    names.push(spec.name);
  });
  if (names.length === 0) return undefined;
  return { names, toolChoice: config.toolChoice };
}

/** Resolves an ID, inference profile ID or ARN to a known base model ID. */
function resolveModel(modelId: string, options: BedrockMockOptions): string | undefined {
  let id = modelId;
  const arn = /^arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]+:(\d{12})?:(foundation-model|inference-profile)\/(.+)$/.exec(id);
  if (arn) id = arn[3]!;
  else if (id.startsWith('arn:')) return undefined;
  id = id.replace(PROFILE_PREFIX, '');
  return BEDROCK_MODELS.includes(id) || options.models?.includes(id) ? id : undefined;
}

/** Words with their leading whitespace: one "token" each. */
function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function countTokens(blocks: Block[]): number {
  let n = 0;
  for (const block of blocks) {
    if (typeof block.text === 'string') n += splitWords(block.text).length;
    else if ('toolResult' in block || 'toolUse' in block || 'reasoningContent' in block) n += splitWords(JSON.stringify(block)).length;
    else if ('image' in block) n += 85;
  }
  return Math.max(n, 1);
}

function headerValue(headers: AnyRequest['headers'], name: string): string | undefined {
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}/, '').replace(/[-:]/g, '');
}

function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (!raw) return query;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    const prior = query[key];
    query[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return query;
}

const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function padding(i: number): string {
  return PADDING.slice(0, 1 + ((i * 17) % PADDING.length));
}
