/**
 * Validators for OpenAI wire formats, from the vendored OpenAI OpenAPI schemas
 * (test/schemas/openai, made by scripts/vendor-openai-schemas.ts; see its README).
 *
 *   const r = validateChatCompletion(body);   // { valid, errors: ["/choices/0/message: must have required property 'refusal'"] }
 *   expectValid('chatCompletionChunk', chunk); // vitest assertion that lists every error
 *
 * The schemas are used as OpenAI publishes them: objects accept properties the spec does not list
 * (e.g. `reasoning_content`, llama.cpp's `timings`) unless the spec says
 * `additionalProperties: false`; nothing is made stricter or looser here. Two things only help Ajv:
 * - a discriminated union (`discriminator` + `anyOf`/`oneOf` whose branches each require a distinct
 *   constant tag) is compiled with Ajv's `discriminator` support, which checks only the branch the tag
 *   names: same verdict (at most one branch can match), far more readable errors;
 * - `format: unixtime` is a number of seconds since the epoch (non-negative, below 1e11 so that
 *   milliseconds are caught); other formats come from ajv-formats.
 * `oneOf` keeps its JSON Schema meaning (exactly one branch) unless a validator is called with
 * `{ oneOf: 'union' }` (see OneOfMode): some of the spec's request unions overlap.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

export const OPENAI_SPEC_VERSION = '2.3.0';
const SCHEMA_FILE = new URL(`../schemas/openai/openai-${OPENAI_SPEC_VERSION}.schemas.json`, import.meta.url);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ValidationResult {
  valid: boolean;
  errors: string[];
}

/** What each validator checks: the component schema of the vendored spec. */
export const KINDS = {
  chatCompletion: 'CreateChatCompletionResponse',
  chatCompletionChunk: 'CreateChatCompletionStreamResponse',
  chatCompletionRequest: 'CreateChatCompletionRequest',
  errorResponse: 'ErrorResponse',
  response: 'Response',
  responseStreamEvent: 'ResponseStreamEvent',
  createResponse: 'CreateResponse',
  modelList: 'ListModelsResponse',
  model: 'Model',
} as const;
export type SchemaKind = keyof typeof KINDS;

type SchemaDoc = Obj & { $id: string; $defs: Record<string, Obj> };

/**
 * How to read a `oneOf` that OpenAI's spec uses as a plain union although its branches overlap
 * (e.g. `InputItem`: a `{role, content}` message is both an `EasyInputMessage` and an `InputMessage`).
 * 'spec' (the default) is JSON Schema: exactly one branch may match, as strict clients check;
 * 'union' reads such a `oneOf` as `anyOf` (at least one), as OpenAI's own SDKs do.
 */
export type OneOfMode = 'spec' | 'union';
export interface ValidateOptions {
  oneOf?: OneOfMode;
}

interface Instance {
  /** what Ajv compiled (see prepare) */
  prepared: SchemaDoc;
  /** JSON pointer of every schema object of `prepared` (for error explanations) */
  pointers: WeakMap<object, string>;
  ajv: Ajv2020;
  compiled: Map<string, ValidateFunction>;
}
let vendored: SchemaDoc | undefined;
const instances = new Map<OneOfMode, Instance>();

/** The vendored document as it is on disk. */
function vendoredDoc(): SchemaDoc {
  vendored ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as SchemaDoc;
  return vendored;
}

function instance(mode: OneOfMode): Instance {
  const existing = instances.get(mode);
  if (existing) return existing;
  const prepared = prepare(structuredClone(vendoredDoc()), mode);
  const ajv = new Ajv2020({
    strict: false, // OpenAPI schemas leave `type` implicit next to properties/items etc.
    allErrors: true,
    verbose: true, // errors carry the data and schema, for explainUnion
    discriminator: true,
    inlineRefs: false, // the schemas share much: inlining $refs makes Ajv's generated code explode
    logger: {
      log: () => undefined,
      // with strict: false Ajv only warns about an unknown format: make that an error instead
      warn: (...args: unknown[]) => {
        throw new Error(`Ajv: ${args.join(' ')}`);
      },
      error: (...args: unknown[]) => {
        throw new Error(`Ajv: ${args.join(' ')}`);
      },
    },
  });
  addFormats.default(ajv);
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isFinite(n) && n >= 0 && n < 1e11 });
  ajv.addSchema(prepared);
  const pointers = new WeakMap<object, string>();
  const walk = (node: Json, pointer: string): void => {
    if (typeof node !== 'object' || node === null) return;
    pointers.set(node, pointer);
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples') {
        walk(v, `${pointer}/${encodeURIComponent(k.replace(/~/g, '~0').replace(/\//g, '~1'))}`);
      }
    }
  };
  walk(prepared, '');
  const made = { prepared, pointers, ajv, compiled: new Map() };
  instances.set(mode, made);
  return made;
}

/**
 * Lets Ajv use `discriminator` where that cannot change the verdict: every branch (a `$ref` to a
 * component, or inline) has `properties[tag]` with string constant(s), requires the tag, and no two
 * branches share a value. Then at most one branch can match, so `anyOf` = `oneOf`. Any other
 * `discriminator` is removed (it is an annotation). In 'union' mode every other `oneOf` becomes `anyOf`.
 */
function prepare(doc: SchemaDoc, mode: OneOfMode): SchemaDoc {
  const defs = doc.$defs;
  const resolve = (s: Json): Obj | undefined => {
    if (!isObj(s)) return undefined;
    if (typeof s.$ref === 'string') {
      if (Object.keys(s).some((k) => k !== '$ref' && k !== 'description' && k !== 'title')) return undefined;
      return s.$ref.startsWith('#/$defs/') ? defs[s.$ref.slice('#/$defs/'.length)] : undefined;
    }
    return s;
  };
  const tagValues = (branch: Obj | undefined, tag: string, parentRequires: boolean): string[] | undefined => {
    const prop = branch && isObj(branch.properties) ? branch.properties[tag] : undefined;
    if (!isObj(prop)) return undefined;
    const required = parentRequires || (Array.isArray(branch!.required) && branch!.required.includes(tag));
    if (!required) return undefined;
    const values = typeof prop.const === 'string' ? [prop.const] : Array.isArray(prop.enum) ? prop.enum : undefined;
    return values?.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
  };
  const visit = (node: Json): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isObj(node)) return;
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples') visit(v);
    }
    if (!('discriminator' in node)) {
      if (mode === 'union' && Array.isArray(node.oneOf) && !('anyOf' in node)) {
        node.anyOf = node.oneOf;
        delete node.oneOf;
      }
      return;
    }
    const disc = node.discriminator;
    const branches = (node.oneOf ?? node.anyOf) as Json[] | undefined;
    const tag = isObj(disc) && typeof disc.propertyName === 'string' ? disc.propertyName : undefined;
    const bothCombinators = 'oneOf' in node && 'anyOf' in node;
    let ok = !!tag && Array.isArray(branches) && !bothCombinators;
    if (ok) {
      const parentRequires = Array.isArray(node.required) && node.required.includes(tag!);
      const seen = new Set<string>();
      for (const b of branches!) {
        const values = tagValues(resolve(b), tag!, parentRequires);
        if (!values || values.some((v) => seen.has(v))) {
          ok = false;
          break;
        }
        values.forEach((v) => seen.add(v));
      }
    }
    if (ok) {
      node.oneOf = branches!;
      delete node.anyOf;
      node.discriminator = { propertyName: tag! };
    } else {
      delete node.discriminator;
      if (mode === 'union' && Array.isArray(node.oneOf) && !('anyOf' in node)) {
        node.anyOf = node.oneOf;
        delete node.oneOf;
      }
    }
  };
  visit(doc.$defs);
  return doc;
}

/** The compiled validator of one vendored component schema (e.g. 'ResponseTextDeltaEvent'). */
export function schemaValidator(name: string, options: ValidateOptions = {}): ValidateFunction {
  const inst = instance(options.oneOf ?? 'spec');
  let fn = inst.compiled.get(name);
  if (!fn) {
    if (!(name in inst.prepared.$defs)) throw new Error(`no schema ${name} in the vendored OpenAI spec`);
    fn = inst.ajv.getSchema(`${inst.prepared.$id}#/$defs/${name}`);
    if (!fn) throw new Error(`Ajv could not compile ${name}`);
    inst.compiled.set(name, fn);
  }
  return fn;
}

/** Validates `value` against any vendored component schema by name. */
export function validateSchema(name: string, value: unknown, options: ValidateOptions = {}): ValidationResult {
  const fn = schemaValidator(name, options);
  const valid = fn(value) as boolean;
  return { valid, errors: valid ? [] : explain([...(fn.errors ?? [])], '', instance(options.oneOf ?? 'spec')) };
}

/** The examples OpenAI documents for a component (its `x-oaiMeta.example`, kept by the vendor script). */
export function schemaExamples(name: string): unknown[] {
  return structuredClone((rawSchema(name).examples as Json[] | undefined) ?? []);
}

/** Names of the vendored component schemas. */
export function schemaNames(): string[] {
  return Object.keys(vendoredDoc().$defs);
}

/** The vendored component schema as it is on disk (not as prepared for Ajv), for inspection in tests. */
export function rawSchema(name: string): Obj {
  const schema = vendoredDoc().$defs[name];
  if (!schema) throw new Error(`no schema ${name} in the vendored OpenAI spec`);
  return schema;
}

export const validateChatCompletion = (body: unknown): ValidationResult => validateSchema(KINDS.chatCompletion, body);
export const validateChatCompletionChunk = (chunk: unknown): ValidationResult => validateSchema(KINDS.chatCompletionChunk, chunk);
export const validateErrorResponse = (body: unknown): ValidationResult => validateSchema(KINDS.errorResponse, body);
export const validateResponse = (body: unknown): ValidationResult => validateSchema(KINDS.response, body);
export const validateResponseStreamEvent = (event: unknown): ValidationResult => validateSchema(KINDS.responseStreamEvent, event);
export const validateModelList = (body: unknown): ValidationResult => validateSchema(KINDS.modelList, body);

/** Validates by kind (see KINDS). */
export function validate(kind: SchemaKind, value: unknown, options: ValidateOptions = {}): ValidationResult {
  return validateSchema(KINDS[kind], value, options);
}

/** vitest assertion: `value` matches the OpenAI schema of `kind`; on failure the message lists every error. */
export function expectValid(kind: SchemaKind, value: unknown, options: ValidateOptions = {}): void {
  const { errors } = validate(kind, value, options);
  expect(errors, `${kind} (${KINDS[kind]}) does not match OpenAI spec ${OPENAI_SPEC_VERSION}:\n  ${errors.join('\n  ')}`).toEqual([]);
}

/** vitest assertion: `value` fails the OpenAI schema of `kind`; returns the errors for further checks. */
export function expectInvalid(kind: SchemaKind, value: unknown, options: ValidateOptions = {}): string[] {
  const { valid, errors } = validate(kind, value, options);
  expect(valid, `${kind} (${KINDS[kind]}) unexpectedly matches OpenAI spec ${OPENAI_SPEC_VERSION}`).toBe(false);
  return errors;
}

// ---------------------------------------------------------------------------------------------
// error messages

const under = (path: string, base: string): boolean => path === base || path.startsWith(`${base}/`);

function describeError(e: ErrorObject, prefix: string): string {
  const path = prefix + e.instancePath;
  const where = path || '(root)';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${where}: must have required property '${String(p.missingProperty)}'`;
    case 'additionalProperties':
      return `${where}: must NOT have additional property '${String(p.additionalProperty)}'`;
    case 'enum':
      return `${where}: must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'const':
      return `${where}: must be ${JSON.stringify(p.allowedValue)}`;
    case 'discriminator':
      return p.error === 'tag'
        ? `${where}: must have a string property '${String(p.tag)}'`
        : `${path}/${String(p.tag)}: ${JSON.stringify(p.tagValue)} is not a value this union allows`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Resolves a `$ref` of the prepared document (only `#/$defs/X` occurs). */
function deref(s: Json, depth = 0): Obj | undefined {
  if (!isObj(s) || depth > 8) return undefined;
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/$defs/')) return deref(vendoredDoc().$defs[s.$ref.slice(8)] ?? null, depth + 1);
  return s;
}

/** JSON types a schema can accept, or undefined when it does not say. */
function typesOf(s: Json, depth = 0): string[] | undefined {
  const r = deref(s);
  if (!r || depth > 8) return undefined;
  if (typeof r.type === 'string') return [r.type];
  if (Array.isArray(r.type)) return r.type as string[];
  if (Array.isArray(r.allOf)) {
    for (const m of r.allOf) {
      const t = typesOf(m, depth + 1);
      if (t) return t;
    }
  }
  const union = (r.anyOf ?? r.oneOf) as Json[] | undefined;
  if (Array.isArray(union)) {
    const all = union.map((m) => typesOf(m, depth + 1));
    if (all.every((t) => t)) return [...new Set(all.flat() as string[])];
  }
  return undefined;
}

/** The constant string values a schema allows for property `tag`, or undefined when it does not say. */
function tagValuesOf(s: Json, tag: string, depth = 0): string[] | undefined {
  const r = deref(s);
  if (!r || depth > 8) return undefined;
  const prop = isObj(r.properties) ? deref(r.properties[tag] ?? null) : undefined;
  if (prop) {
    const values = typeof prop.const === 'string' ? [prop.const] : Array.isArray(prop.enum) ? prop.enum : undefined;
    if (values?.every((v) => typeof v === 'string')) return values as string[];
  }
  if (Array.isArray(r.allOf)) {
    for (const m of r.allOf) {
      const v = tagValuesOf(m, tag, depth + 1);
      if (v) return v;
    }
  }
  return undefined;
}

const accepts = (types: string[] | undefined, jt: string): boolean =>
  !types || types.includes(jt) || (jt === 'integer' && types.includes('number'));

/**
 * A failed anyOf/oneOf: Ajv reports every branch's errors. Keep only the branches the value could
 * have meant (its JSON type, then its `type` tag, e.g. an output item's "message"), validated again
 * on their own, so that one missing field reads as one line.
 */
function explainUnion(u: ErrorObject, block: ErrorObject[], prefix: string, inst: Instance): string[] {
  const path = prefix + u.instancePath;
  const where = path || '(root)';
  const branches = u.schema as Json[];
  const fallback = () => [...explain(block, prefix, inst), describeError(u, prefix)];
  if (!Array.isArray(branches) || !isObj(u.parentSchema)) return fallback();
  const passing = (u.params as { passingSchemas?: unknown }).passingSchemas;
  if (u.keyword === 'oneOf' && Array.isArray(passing)) {
    const names = passing.map((i: number) => {
      const b = branches[i];
      return isObj(b) && typeof b.$ref === 'string' ? b.$ref.replace('#/$defs/', '') : `#${i}`;
    });
    return [`${where}: matches ${names.join(' and ')} of a oneOf that allows exactly one (the spec's branches overlap; see OneOfMode)`];
  }
  const data: unknown = u.data;
  const jt = jsonType(data);
  let candidates = branches.map((b, i) => ({ b, i })).filter(({ b }) => accepts(typesOf(b), jt));
  if (candidates.length === 0) {
    const all = [...new Set(branches.flatMap((b) => typesOf(b) ?? []))];
    return [`${where}: must be ${all.join(' | ')}`];
  }
  const disc = u.parentSchema.discriminator;
  const tag = isObj(disc) && typeof disc.propertyName === 'string' ? disc.propertyName : 'type';
  if (jt === 'object' && typeof (data as Obj)[tag] === 'string') {
    const value = (data as Obj)[tag] as string;
    const withTag = candidates.map((c) => ({ ...c, tags: tagValuesOf(c.b, tag) }));
    if (withTag.some((c) => c.tags)) {
      const matching = withTag.filter((c) => !c.tags || c.tags.includes(value));
      if (matching.every((c) => !c.tags) && withTag.every((c) => c.tags)) {
        const all = [...new Set(withTag.flatMap((c) => c.tags ?? []))];
        return [`${path}/${tag}: ${JSON.stringify(value)} is none of ${JSON.stringify(all)}`];
      }
      if (matching.some((c) => c.tags)) candidates = matching.filter((c) => c.tags);
    }
  }
  if (candidates.length === branches.length) return fallback();
  const pointer = inst.pointers.get(u.parentSchema);
  const results: string[][] = [];
  for (const { b, i } of candidates) {
    const ref = isObj(b) && typeof b.$ref === 'string' && Object.keys(b).length === 1 ? b.$ref : pointer ? `#${pointer}/${u.keyword}/${i}` : undefined;
    const fn = ref ? inst.ajv.getSchema(`${inst.prepared.$id}${ref}`) : undefined;
    if (!fn) return fallback();
    if (fn(data)) return [describeError(u, prefix)]; // e.g. oneOf matched twice
    results.push(explain([...(fn.errors ?? [])], path, inst));
  }
  return results.length === 1 ? results[0]! : [...results.flat(), describeError(u, prefix)];
}

const reachableCache = new WeakMap<object, Set<object>>();

/** Every schema object a union's branches can reach (through `$ref`s too). */
function reachable(branches: Json[], inst: Instance): Set<object> {
  const cached = reachableCache.get(branches);
  if (cached) return cached;
  const seen = new Set<object>();
  const stack: Json[] = [...branches];
  while (stack.length) {
    const node = stack.pop()!;
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) stack.push(inst.prepared.$defs[v.slice(8)] ?? null);
      else if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples') stack.push(v);
    }
  }
  reachableCache.set(branches, seen);
  return seen;
}

/**
 * Readable, de-duplicated messages ("/choices/0/message: must have required property 'refusal'");
 * a failed union reports only the branches the value's type/tag points at (see explainUnion).
 */
function explain(errors: ErrorObject[], prefix: string, inst: Instance): string[] {
  const segments: string[][] = [];
  let i = errors.length - 1;
  while (i >= 0) {
    const e = errors[i]!;
    if ((e.keyword === 'anyOf' || e.keyword === 'oneOf') && Array.isArray(e.schema)) {
      // the union's branch errors come right before it
      const inside = reachable(e.schema as Json[], inst);
      let j = i - 1;
      while (j >= 0 && under(errors[j]!.instancePath, e.instancePath) && inside.has(errors[j]!.parentSchema as object)) j--;
      segments.push(explainUnion(e, errors.slice(j + 1, i), prefix, inst));
      i = j;
    } else {
      segments.push([describeError(e, prefix)]);
      i--;
    }
  }
  return [...new Set(segments.reverse().flat())];
}

