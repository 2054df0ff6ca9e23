import type { StreamTranslator, TranslatedEvent } from '../providers/types.js';
import { ChoiceText } from './choice-text.js';
import { SseParser } from '../sse/parser.js';
import { openAIChunks } from './openai-chunks.js';
import type { ResponsePlan } from './plan.js';

interface ChunkChoice {
  index?: number;
  delta?: Record<string, unknown> | null;
  finish_reason?: string | null;
}

interface Chunk {
  id?: unknown;
  object?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: ChunkChoice[];
}


/**
 * Turns an upstream SSE stream into the client's OpenAI chat-completion stream as it flows: translates
 * a non-OpenAI dialect (Anthropic's named events) into chunks, strips a repeated prefix (which may be
 * split over deltas or glued to generated text) and puts the prefix in front when `echo` is asked for.
 * Events leave as soon as they are decided; only text that may still be the repeat is held, and never
 * more than its length. Events that need nothing are passed on unchanged.
 */
export class ChatStreamRewriter {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly parser = new SseParser((event) => {
    for (const translated of this.translator.translate(event)) this.handle(translated);
  });
  private readonly choices = new Map<number, ChoiceText>();
  private out = '';
  private lastChunk: Chunk | undefined;

  constructor(
    private readonly plan: ResponsePlan,
    private readonly translator: StreamTranslator = openAIChunks,
  ) {}

  /** Feeds upstream bytes; returns the SSE text to send now (possibly empty). */
  write(bytes: Uint8Array): string {
    this.parser.push(this.decoder.decode(bytes, { stream: true }));
    return this.take();
  }

  /** The upstream ended cleanly: releases any held text. */
  end(): string {
    const rest = this.decoder.decode();
    if (rest) this.parser.push(rest);
    this.parser.end();
    for (const translated of this.translator.end?.() ?? []) this.handle(translated);
    this.flushHeld();
    return this.take();
  }

  private take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  private handle(translated: TranslatedEvent): void {
    switch (translated.kind) {
      case 'raw':
        this.emit(translated.event, translated.data);
        return;
      case 'done':
        this.flushHeld();
        this.emit(undefined, '[DONE]');
        return;
      case 'error':
        this.flushHeld();
        this.emit(undefined, JSON.stringify({ error: translated.error }));
        return;
      case 'chunk': {
        const chunk = translated.chunk as Chunk;
        this.lastChunk = chunk;
        let worthSending = false;
        for (const choice of chunk.choices ?? []) {
          if (this.rewriteChoice(choice)) worthSending = true;
        }
        if (worthSending || (chunk.choices ?? []).length === 0) this.emit(undefined, JSON.stringify(chunk));
        return;
      }
      default: {
        const unexpected: never = translated;
        throw new Error(`unknown stream event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  /** Rewrites one choice's delta; false when nothing is left worth an event. */
  private rewriteChoice(choice: ChunkChoice): boolean {
    const text = this.textOf(choice.index ?? 0);
    const delta = choice.delta ?? {};
    const hadContent = typeof delta.content === 'string';
    const out = text.push(hadContent ? (delta.content as string) : '', choice.finish_reason != null);
    if (hadContent || out.content.length > 0) {
      delta.content = out.content;
      choice.delta = delta;
    }
    if (out.reasoning.length > 0) {
      const upstreamReasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : '';
      delta.reasoning_content = upstreamReasoning + out.reasoning;
      choice.delta = delta;
    }
    if (out.content.length > 0 || choice.finish_reason != null) return true;
    for (const key in delta) {
      const value = delta[key];
      if (key !== 'content' && value !== null && value !== undefined && value !== '') return true;
    }
    return false;
  }

  private textOf(index: number): ChoiceText {
    let text = this.choices.get(index);
    if (!text) {
      text = new ChoiceText(this.plan);
      this.choices.set(index, text);
    }
    return text;
  }

  /** Text held as a possible repeat or partial tag, sent before the stream ends. */
  private flushHeld(): void {
    for (const [index, text] of this.choices) {
      if (!text.holding) continue;
      const out = text.push('', true);
      if (out.content.length === 0 && out.reasoning.length === 0) continue;
      const template = this.lastChunk ?? {};
      const delta: Record<string, unknown> = {};
      if (out.reasoning.length > 0) delta.reasoning_content = out.reasoning;
      if (out.content.length > 0) delta.content = out.content;
      const chunk: Chunk = {
        id: template.id,
        object: template.object ?? 'chat.completion.chunk',
        created: template.created,
        model: template.model,
        choices: [{ index, delta, finish_reason: null }],
      };
      this.emit(undefined, JSON.stringify(chunk));
    }
  }

  private emit(event: string | undefined, data: string): void {
    if (event !== undefined) this.out += `event: ${event}\n`;
    this.out += `data: ${data}\n\n`;
  }
}
