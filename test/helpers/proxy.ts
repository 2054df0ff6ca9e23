import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';

export interface RunningProxy {
  url: string;
  app: FastifyInstance;
  /** The official OpenAI SDK pointed at the proxy. */
  client: OpenAI;
  close(): Promise<void>;
}

/** Starts the real proxy on an ephemeral port with the given environment (nothing else is read). */
export async function startProxy(
  env: Record<string, string | undefined> = {},
  clientKey = 'unused',
  logDestination?: DestinationStream,
): Promise<RunningProxy> {
  const config = loadConfig({ LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ...env });
  const app = buildApp(config, { logDestination });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: clientKey, maxRetries: 0, timeout: 15_000 });
  return { url, app, client, close: () => app.close() };
}

/** Reads an SDK stream into its content, its chunks and the finish reason. */
export async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let content = '';
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  let finishReason: string | null = null;
  for await (const chunk of stream) {
    chunks.push(chunk);
    for (const choice of chunk.choices) {
      if (choice.delta?.content) content += choice.delta.content;
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  return { content, chunks, finishReason };
}

type StreamingParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;
type NonStreamingParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;

/**
 * The SDK sends unknown body fields as they are; these helpers type the proxy's own extensions
 * (`echo`, `prefix` on a message, `continue_final_message`) without casts at every call.
 */
export type WithExtensions<T> = Omit<T, 'messages'> & { messages: unknown[]; echo?: boolean; continue_final_message?: boolean };

export function complete(client: OpenAI, params: WithExtensions<NonStreamingParams>) {
  return client.chat.completions.create(params as NonStreamingParams);
}

export function streamed(client: OpenAI, params: WithExtensions<Omit<StreamingParams, 'stream'>>) {
  return client.chat.completions.create({ ...params, stream: true } as StreamingParams).then(collect);
}
