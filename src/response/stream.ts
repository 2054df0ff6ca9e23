import { PrefixStripper } from '../prefill/prefix-stripper.js';
import type { StreamTranslator, TranslatedEvent } from '../providers/types.js';
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

interface ChoiceState {
  stripper: PrefixStripper | undefined;
  echoed: boolean;
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
  private readonly choices = new Map<number, ChoiceState>();
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
    const state = this.stateOf(choice.index ?? 0);
    const delta = choice.delta ?? {};
    const hadContent = typeof delta.content === 'string';
    let text = hadContent ? (delta.content as string) : '';
    if (state.stripper && !state.stripper.settled) {
      text = state.stripper.push(text);
      if (choice.finish_reason != null) text += state.stripper.end();
    }
    if (this.plan.echo && !state.echoed) {
      text = this.plan.prefix + text;
      state.echoed = true;
    }
    if (hadContent || text.length > 0) {
      delta.content = text;
      choice.delta = delta;
    }
    if (text.length > 0 || choice.finish_reason != null) return true;
    for (const key in delta) {
      if (key !== 'content' && delta[key] !== null && delta[key] !== undefined) return true;
    }
    return false;
  }

  private stateOf(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      const repeated = this.plan.repeated;
      state = {
        stripper: repeated
          ? new PrefixStripper(repeated.text, { skipLeadingWhitespace: repeated.skipLeadingWhitespace })
          : undefined,
        echoed: false,
      };
      this.choices.set(index, state);
    }
    return state;
  }

  /** Text held as a possible repeat that turned out not to be one, sent before the stream ends. */
  private flushHeld(): void {
    for (const [index, state] of this.choices) {
      const text = state.stripper?.end() ?? '';
      if (text.length === 0) continue;
      const template = this.lastChunk ?? {};
      const chunk: Chunk = {
        id: template.id,
        object: template.object ?? 'chat.completion.chunk',
        created: template.created,
        model: template.model,
        choices: [{ index, delta: { content: text }, finish_reason: null }],
      };
      this.emit(undefined, JSON.stringify(chunk));
    }
  }

  private emit(event: string | undefined, data: string): void {
    if (event !== undefined) this.out += `event: ${event}\n`;
    this.out += `data: ${data}\n\n`;
  }
}
