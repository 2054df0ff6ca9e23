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
  usage?: unknown;
}

/**
 * One of several upstream calls that together make one answer (the thinking budget): the stream's end
 * (finish reason, usage, `[DONE]`) is kept back and recorded for the caller, and a later phase speaks
 * under the first phase's identity without announcing the role again.
 */
export interface StreamPhase {
  continuation?: { id: unknown; created: unknown; model: unknown };
}

/** What a phase produced, as the client saw it. */
export interface PhaseRecord {
  reasoning: string;
  content: string;
  finishReason: string | null;
  usage: Record<string, unknown> | undefined;
  identity: { id: unknown; created: unknown; model: unknown } | undefined;
  failed: boolean;
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

  /** Filled as the stream flows when the rewriter runs one phase of several. */
  readonly record: PhaseRecord = { reasoning: '', content: '', finishReason: null, usage: undefined, identity: undefined, failed: false };

  constructor(
    private readonly plan: ResponsePlan,
    private readonly translator: StreamTranslator = openAIChunks,
    private readonly phase?: StreamPhase,
  ) {}

  /** Once every choice is settled, the rest of an OpenAI stream needs nothing: its bytes go untouched. */
  private untouched = false;

  /** Feeds upstream bytes; returns what to send now (possibly empty). */
  write(bytes: Buffer): string | Buffer {
    if (this.untouched) return bytes;
    this.parser.push(this.decoder.decode(bytes, { stream: true }));
    if (this.canPassUntouched()) this.untouched = true;
    return this.take();
  }

  private canPassUntouched(): boolean {
    if (this.phase || this.translator !== openAIChunks || this.plan.manyChoices || this.choices.size === 0) return false;
    if (!this.parser.atEventBoundary) return false;
    for (const text of this.choices.values()) if (!text.settled) return false;
    return true;
  }

  /** The upstream ended cleanly: releases any held text. */
  end(): string {
    if (this.untouched) return '';
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
    // After an error the stream is over for the client, whatever the upstream still sends.
    if (this.record.failed) return;
    switch (translated.kind) {
      case 'raw':
        this.emit(translated.event, translated.data);
        return;
      case 'done':
        this.flushHeld();
        if (!this.phase) this.emit(undefined, '[DONE]');
        return;
      case 'error':
        this.flushHeld();
        this.record.failed = true;
        this.emit(undefined, JSON.stringify({ error: translated.error }));
        return;
      case 'chunk': {
        const chunk = translated.chunk as Chunk;
        if (this.phase) this.adoptPhase(chunk);
        this.lastChunk = chunk;
        const choices = chunk.choices ?? [];
        let worthSending = choices.length === 0 && chunk.usage !== undefined;
        for (const choice of choices) {
          if (this.rewriteChoice(choice)) worthSending = true;
        }
        if (worthSending) this.emit(undefined, JSON.stringify(chunk));
        return;
      }
      default: {
        const unexpected: never = translated;
        throw new Error(`unknown stream event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  /** Records a phase's identity, usage and end, and keeps them from the client (see StreamPhase). */
  private adoptPhase(chunk: Chunk): void {
    const record = this.record;
    record.identity ??= { id: chunk.id, created: chunk.created, model: chunk.model };
    const continuation = this.phase?.continuation;
    if (continuation) {
      chunk.id = continuation.id;
      chunk.created = continuation.created;
      chunk.model = continuation.model;
    }
    if (chunk.usage !== undefined && chunk.usage !== null) record.usage = chunk.usage as Record<string, unknown>;
    delete chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (choice.finish_reason != null) record.finishReason = choice.finish_reason;
      if (continuation && choice.delta) delete choice.delta.role;
    }
  }

  /** Rewrites one choice's delta; false when nothing is left worth an event. */
  private rewriteChoice(choice: ChunkChoice): boolean {
    const text = this.textOf(choice.index ?? 0);
    const delta = choice.delta ?? {};
    const hadContent = typeof delta.content === 'string';
    const out = text.push(hadContent ? (delta.content as string) : '', choice.finish_reason != null);
    // Text that turned out to be thinking leaves the content key, so the two never mix in one delta.
    if (out.content.length > 0 || (hadContent && out.reasoning.length === 0)) {
      delta.content = out.content;
      choice.delta = delta;
    } else if (hadContent) {
      delete delta.content;
    }
    if (out.reasoning.length > 0) {
      const upstreamReasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : '';
      delta.reasoning_content = out.reasoning + upstreamReasoning;
      choice.delta = delta;
    }
    if (this.phase) {
      this.record.content += out.content;
      if (typeof delta.reasoning_content === 'string') this.record.reasoning += delta.reasoning_content;
      // The phase's end is not the answer's end: the orchestrator sends the finish reason.
      if (choice.finish_reason != null) choice.finish_reason = null;
      return hasSomething(delta);
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
      if (this.phase) {
        this.record.content += out.content;
        this.record.reasoning += out.reasoning;
      }
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

function hasSomething(delta: Record<string, unknown>): boolean {
  for (const key in delta) {
    const value = delta[key];
    if (value !== null && value !== undefined && value !== '') return true;
  }
  return false;
}
