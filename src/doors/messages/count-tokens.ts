import type { FastifyReply, FastifyRequest } from 'fastify';
import { upstreamHttpError, upstreamTransportError, type UpstreamErrorHeaders } from '../../errors.js';
import type { AppContext } from '../../pipeline/context.js';
import { decide, type Decided } from '../../pipeline/prepare.js';
import type { PipelineRequest } from '../../pipeline/types.js';
import { jsonBodyOf, type JsonBody } from '../../providers/types.js';
import { clientResponseHeaders } from '../../upstream/headers.js';
import { readBodyText } from '../../upstream/read-body.js';
import type { Upstream } from '../../upstream/types.js';
import { toChatRequest } from './request.js';
import { conversionOptions } from './facts.js';
import { validateCountTokens, type BlockParam, type CountTokensBody } from './schema.js';

/**
 * POST /v1/messages/count_tokens, `{"input_tokens": N}`:
 * - an Anthropic upstream counts it itself (the request goes as it came);
 * - llama.cpp counts it exactly: its `/apply-template` renders the prompt the request would be, its
 *   `/tokenize` counts the tokens (`x-token-count: exact`);
 * - any other upstream has no counting route: an estimate from the text's length
 *   (`x-token-count: estimate`), also when llama.cpp cannot answer.
 */

/** Side requests read at most this much, within this time; the forwarded count may take longer. */
const SIDE_ANSWER_BYTES = 4 * 1024 * 1024;
const SIDE_REQUEST_MS = 5000;
const FORWARD_MS = 60_000;

export async function countTokens(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const body = validateCountTokens(request.body);
  const { chat, uncarried } = toChatRequest(body, conversionOptions(context, request, body.model));
  const pipelineRequest: PipelineRequest = {
    door: 'messages',
    chat,
    raw: undefined,
    headers: request.headers,
    options: { stream: false, echo: false, includeUsage: true, thinkingBudget: undefined },
  };
  const decided = decide(context, pipelineRequest, request.telemetry);
  const { provider } = decided.route.target;
  reply.header('x-prefill', 'none');
  if (provider.answers.wire === 'anthropic-messages') return forward(context, decided, body, reply);
  const exact = provider.id === 'llamacpp' && !uncarried ? await llamaCount(decided).catch(() => undefined) : undefined;
  reply.header('x-token-count', exact === undefined ? 'estimate' : 'exact');
  return reply.send({ input_tokens: exact ?? estimate(body) });
}

/** Anthropic's own count, its answer passed on (its errors in Anthropic's shape, as every error here). */
async function forward(context: AppContext, decided: Decided, body: CountTokensBody, reply: FastifyReply): Promise<FastifyReply> {
  const { route, chat, renamed, request } = decided;
  const sent: JsonBody = { ...body, model: renamed ? chat.model : body.model };
  delete sent.echo;
  const path = `${route.target.provider.chatPath}/count_tokens`;
  const answer = await post(route.target.client, path, decided.upstreamHeaders, sent, FORWARD_MS);
  const secrets = context.secrets.forRequest(request.headers);
  if (answer.status >= 400) throw upstreamHttpError(answer.status, secrets.redact(answer.text), answer.headers as UpstreamErrorHeaders);
  return reply.code(answer.status).headers(clientResponseHeaders(answer.headers)).header('content-type', 'application/json').send(answer.text);
}

/** llama.cpp's count: the prompt its template renders for the request as the proxy sends it, tokenized. */
async function llamaCount({ route, chat, prefill, settings, upstreamHeaders }: Decided): Promise<number | undefined> {
  const { provider, client } = route.target;
  const sent = prefill && provider.prefillRequest ? jsonBodyOf(provider.prefillRequest(chat, prefill, { thinkTags: settings.thinkTags }).body) : (provider.forwardRequest(chat, true)?.body ?? (chat as JsonBody));
  const template = await post(client, '/apply-template', upstreamHeaders, { ...sent, stream: false }, SIDE_REQUEST_MS);
  const prompt = template.status === 200 ? (parse(template.text) as { prompt?: unknown } | undefined)?.prompt : undefined;
  if (typeof prompt !== 'string') return undefined;
  // Special tokens as the chat route reads them: the template's own markers, and the model's BOS.
  const tokenized = await post(client, '/tokenize', upstreamHeaders, { content: prompt, add_special: true, parse_special: true }, SIDE_REQUEST_MS);
  const tokens = tokenized.status === 200 ? (parse(tokenized.text) as { tokens?: unknown } | undefined)?.tokens : undefined;
  return Array.isArray(tokens) ? tokens.length : undefined;
}

async function post(client: Upstream, path: string, headers: Record<string, string>, body: JsonBody, timeoutMs: number) {
  try {
    const response = await client.request({
      method: 'POST',
      path,
      headers: { ...headers, accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.statusCode, headers: response.headers, text: await readBodyText(response.body, SIDE_ANSWER_BYTES) };
  } catch (err) {
    throw upstreamTransportError(err);
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** About four characters a token for text; Anthropic's figure for an image of about a megapixel. */
const CHARS_PER_TOKEN = 4;
const IMAGE_TOKENS = 1600;
const TOKENS_PER_MESSAGE = 4;

/** An estimate from the request's text (roughly what tokenizers of English and code give). */
export function estimate(body: CountTokensBody): number {
  let chars = typeof body.system === 'string' ? body.system.length : (body.system ?? []).reduce((sum, block) => sum + block.text.length, 0);
  let tokens = 0;
  for (const message of body.messages) {
    tokens += TOKENS_PER_MESSAGE;
    if (typeof message.content === 'string') chars += message.content.length;
    else {
      for (const block of message.content) {
        if (block.type === 'image') tokens += IMAGE_TOKENS;
        else chars += blockChars(block);
      }
    }
  }
  if (body.tools) chars += JSON.stringify(body.tools).length;
  return tokens + Math.ceil(chars / CHARS_PER_TOKEN);
}

function blockChars(block: BlockParam): number {
  if (typeof block.text === 'string') return block.text.length;
  if (typeof block.thinking === 'string') return block.thinking.length;
  if (typeof block.content === 'string') return block.content.length;
  if (Array.isArray(block.content)) return (block.content as BlockParam[]).reduce((sum, part) => sum + blockChars(part), 0);
  return JSON.stringify(block.input ?? block.source ?? '').length;
}
