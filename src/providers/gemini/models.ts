/**
 * What is known of Gemini models from their names: which refuse a trailing `model` turn, and how each
 * takes a thinking setting. Google widens both with each release, so anything unknown is tried (a refusal
 * then takes the fallback, see index.ts) rather than guessed.
 *
 * Sources: ai.google.dev/gemini-api/docs/latest-model ("Starting with Gemini 3.6 Flash and Gemini 3.5
 * Flash-Lite, the following API changes apply to these models and all future Gemini model releases. […]
 * Prefilling model turns is no longer supported."), /thinking and /gemini-3 (budgets on 2.5, levels on 3.x).
 */

import type { OpenAIModel } from '../types.js';

export interface GeminiModel {
  major: number;
  minor: number;
  pro: boolean;
  flashLite: boolean;
}

/** The model id without the `models/` prefix the API's resource names carry. */
export function bareModel(model: string | undefined): string {
  return (model ?? '').replace(/^models\//, '');
}

/** `gemini-2.5-flash`, `gemini-3.1-pro-preview`, `models/gemini-3-flash-preview`; undefined for other names. */
export function geminiModel(model: string | undefined): GeminiModel | undefined {
  const id = bareModel(model);
  const match = /^gemini-(\d+)(?:\.(\d+))?(?:-|$)/.exec(id);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2] ?? '0'), pro: /-pro(?:-|$)/.test(id), flashLite: /-flash-lite(?:-|$)/.test(id) };
}

/**
 * Models documented to refuse a request whose last turn is the model's ("Requests ending with a model
 * turn are not supported."): Gemini 3.5 Flash-Lite, 3.6 and later, and every later major. 2.x, 3 Pro,
 * 3 Flash, 3.1 and 3.5 Flash continue it.
 */
export function refusesPrefill(model: string | undefined): boolean {
  const known = geminiModel(model);
  if (!known) return false;
  if (known.major !== 3) return known.major > 3;
  return known.minor >= 6 || (known.minor === 5 && known.flashLite);
}

/** The newest models also deprecate sampling fields and reject custom penalties (same release notes). */
export function isLatestGeneration(model: string | undefined): boolean {
  return refusesPrefill(model);
}

export type ThinkingLevel = 'minimal' | 'low' | 'medium' | 'high';

/** How a model takes a thinking setting: a token budget (2.x and names the proxy does not know), or a level (3.x and later). */
export function thinkingForm(model: string | undefined): 'budget' | 'level' {
  const known = geminiModel(model);
  return known && known.major >= 3 ? 'level' : 'budget';
}

/** Whether the model thinks without being asked (2.5 except Flash-Lite, and 3.x on): its thoughts are then asked for. */
export function thinksByDefault(model: string | undefined): boolean {
  const known = geminiModel(model);
  if (!known) return false;
  if (known.major >= 3) return true;
  return known.major === 2 && known.minor >= 5 && !known.flashLite;
}

/** The levels a Gemini 3 model accepts: 3 Pro low/high, later Pro low/medium/high, Flash and Flash-Lite all four. */
export function levelsOf(model: string | undefined): readonly ThinkingLevel[] {
  const known = geminiModel(model);
  if (known?.pro) return known.major === 3 && known.minor === 0 ? ['low', 'high'] : ['low', 'medium', 'high'];
  return ['minimal', 'low', 'medium', 'high'];
}

/** A level the model accepts: `minimal` becomes `low` (Pro cannot stop thinking), `medium` becomes `high` (3 Pro has none). */
export function availableLevel(model: string | undefined, level: ThinkingLevel): ThinkingLevel {
  const levels = levelsOf(model);
  if (levels.includes(level)) return level;
  return level === 'minimal' ? 'low' : 'high';
}

/**
 * A thinking budget (tokens) as a level, for models that take levels: 0 → minimal, up to 1024 → low, up
 * to 8192 → medium, more → high (the budgets Google gives the levels on its OpenAI-compatible endpoint:
 * low 1024, medium 8192, high 24576), then the nearest level the model accepts.
 */
export function levelForBudget(model: string | undefined, budget: number): ThinkingLevel {
  const level: ThinkingLevel = budget <= 0 ? 'minimal' : budget <= 1024 ? 'low' : budget <= 8192 ? 'medium' : 'high';
  return availableLevel(model, level);
}

/**
 * A budget within what the model accepts: 2.5 Pro 128–32768 (it cannot stop thinking), 2.5 Flash-Lite 0
 * or 512–24576, other 2.x 0–24576; names the proxy does not know get the budget as asked.
 */
export function clampBudget(model: string | undefined, budget: number): number {
  const known = geminiModel(model);
  if (!known) return budget;
  if (known.pro) return Math.min(Math.max(budget, 128), 32_768);
  if (budget === 0) return 0;
  if (known.flashLite) return Math.min(Math.max(budget, 512), 24_576);
  return Math.min(budget, 24_576);
}

/**
 * Gemini's model list (`{models: [{name: "models/gemini-2.5-flash", supportedGenerationMethods, …}]}`)
 * as OpenAI's entries: the models that generate content (not the embedding-only ones), by bare id.
 * Gemini gives no creation time: 0.
 */
export function geminiModelsAsOpenAI(answer: unknown): OpenAIModel[] {
  const models = (answer as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(models)) return [];
  const entries: OpenAIModel[] = [];
  for (const model of models as Array<{ name?: unknown; supportedGenerationMethods?: unknown }>) {
    if (typeof model?.name !== 'string') continue;
    const methods = model.supportedGenerationMethods;
    if (Array.isArray(methods) && !methods.includes('generateContent')) continue;
    entries.push({ id: bareModel(model.name), object: 'model', created: 0, owned_by: 'google' });
  }
  return entries;
}
