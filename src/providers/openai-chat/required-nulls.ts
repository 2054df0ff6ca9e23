import { jsonStringEnd } from '../../json/string-end.js';

const LOGPROBS = Buffer.from('"logprobs":null,');
const REFUSAL = Buffer.from('"refusal":null,');

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * A whole chat completion's bytes made valid against OpenAI's schema, which requires
 * `choices[].logprobs` and `choices[].message.refusal` (nullable): where an answer lacks them
 * (llama.cpp's, Mistral's) they are written in as null, without parsing the answer into objects and
 * serializing it again (on a small answer that round trip is most of what the proxy adds to it).
 *
 * One pass over the bytes, strings skipped with the native byte search, tracking only the levels
 * that matter (the answer, its `choices`, each choice, each `message`). A field is written at the
 * start of its object, so were the answer to hold it under a spelling the scan does not compare
 * (escaped characters in the key), its own value comes last and wins for every JSON reader.
 *
 * Gives the bytes themselves when nothing is missing; undefined when they are not a JSON object
 * whose `choices` is an array of choice objects, each with a non-empty `message` object, with
 * balanced brackets, closed strings and nothing after the end (the caller then decodes the answer,
 * which says what is wrong with it).
 */
export function withRequiredNulls(raw: Buffer): Buffer | undefined {
  const inserts: Array<{ at: number; text: Buffer }> = [];
  const n = raw.length;
  let depth = 0;
  let ended = false;
  /** The last key read at the answer's level (1) and at a choice's level (3). */
  let answerKey: 'choices' | 'other' = 'other';
  let choiceKey: 'message' | 'other' = 'other';
  let inChoices = false;
  let sawChoices = false;
  let choiceStart = -1;
  let choiceHasLogprobs = false;
  let choiceHasMessage = false;
  let messageStart = -1;
  let messageHasRefusal = false;
  for (let i = 0; i < n; i++) {
    const byte = raw[i]!;
    if (ended) {
      if (isWhitespace(byte)) continue;
      return undefined;
    }
    if (depth === 0 && byte !== OPEN_OBJECT) {
      if (isWhitespace(byte)) continue;
      return undefined;
    }
    if (byte === QUOTE) {
      const end = jsonStringEnd(raw, i);
      if (end === -1 || (inChoices && depth === 2)) return undefined;
      let next = end + 1;
      while (next < n && isWhitespace(raw[next]!)) next++;
      if (raw[next] === COLON) {
        // A key: the ones that matter, at the levels where they matter.
        if (depth === 1) answerKey = keyIs(raw, i, end, 'choices') ? 'choices' : 'other';
        else if (inChoices && depth === 3) {
          choiceKey = keyIs(raw, i, end, 'message') ? 'message' : 'other';
          if (keyIs(raw, i, end, 'logprobs')) choiceHasLogprobs = true;
        } else if (messageStart !== -1 && depth === 4 && keyIs(raw, i, end, 'refusal')) messageHasRefusal = true;
        i = next;
      } else {
        i = end;
      }
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth === 1) {
        if (byte !== OPEN_OBJECT) return undefined;
      } else if (depth === 2 && answerKey === 'choices') {
        if (byte !== OPEN_ARRAY || sawChoices) return undefined;
        inChoices = sawChoices = true;
      } else if (depth === 3 && inChoices) {
        if (byte !== OPEN_OBJECT) return undefined;
        choiceStart = i + 1;
        choiceHasLogprobs = choiceHasMessage = false;
        choiceKey = 'other';
      } else if (depth === 4 && inChoices && choiceKey === 'message') {
        if (byte !== OPEN_OBJECT || choiceHasMessage) return undefined;
        messageStart = i + 1;
        messageHasRefusal = false;
      }
      continue;
    }
    if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (depth === 4 && messageStart !== -1) {
        if (emptyBetween(raw, messageStart, i)) return undefined;
        if (!messageHasRefusal) inserts.push({ at: messageStart, text: REFUSAL });
        messageStart = -1;
        choiceHasMessage = true;
      } else if (depth === 3 && inChoices) {
        if (!choiceHasMessage) return undefined;
        if (!choiceHasLogprobs) inserts.push({ at: choiceStart, text: LOGPROBS });
      } else if (depth === 2 && inChoices) {
        inChoices = false;
      }
      depth--;
      if (depth === 0) ended = true;
      continue;
    }
    // A choice that is a number or a literal.
    if (inChoices && depth === 2 && byte !== COMMA && !isWhitespace(byte)) return undefined;
  }
  if (!ended || !sawChoices) return undefined;
  if (inserts.length === 0) return raw;
  return spliced(raw, inserts);
}

/** The bytes with each text written in at its place. */
function spliced(raw: Buffer, inserts: Array<{ at: number; text: Buffer }>): Buffer {
  // A message's insert is found (at its end) before its choice's, which goes in front of it.
  inserts.sort((a, b) => a.at - b.at);
  let extra = 0;
  for (const insert of inserts) extra += insert.text.length;
  const out = Buffer.allocUnsafe(raw.length + extra);
  let from = 0;
  let to = 0;
  for (const { at, text } of inserts) {
    to += raw.copy(out, to, from, at);
    to += text.copy(out, to);
    from = at;
  }
  raw.copy(out, to, from);
  return out;
}

/** The string between the quotes at `open` and `close` is exactly `key` (ASCII, unescaped). */
function keyIs(raw: Buffer, open: number, close: number, key: string): boolean {
  if (close - open - 1 !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (raw[open + 1 + k] !== key.charCodeAt(k)) return false;
  return true;
}

function emptyBetween(raw: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isWhitespace(raw[i]!)) return false;
  return true;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
