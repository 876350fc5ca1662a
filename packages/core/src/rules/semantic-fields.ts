/**
 * Semantic aliases: names that mean the same thing whichever instrumentation convention
 * a span was recorded with. Rule predicates (JS and SQL) and dataset mapping paths
 * (resolveAttributePath) resolve them through this one module.
 *
 * Message aliases come from the message model (genai/extract-genai.ts reads every
 * convention into it):
 *   - `input`: the messages sent to the model, `[{role, name?, parts}]` (no system message);
 *   - `output`: the model's messages (the first choice first);
 *   - `input_text`: the text of the last user message;
 *   - `output_text`: the assistant's answer text;
 *   - `system`: the system instructions' text;
 *   - `tools`: the tool definitions, `[{name, description?, parameters?}]`;
 *   - `prompt_variables`: a prompt template's variables, `{name: value}`.
 * An alias with nothing to say (no message, empty text, no tools) has no value.
 *
 * Keyed aliases are the first non-null value among span attributes (never the resource):
 *   - `model`: the request model, falling back to the response model;
 *   - `response_model`: the model that answered.
 *
 * SQL: keyed aliases compile exactly. Message aliases cannot be computed by the engine;
 * compile-sql.ts gives a superset (a backfill's pre-filter) and the JS matcher decides.
 */
import { extractGenAi } from '../genai/extract-genai.ts'
import {
  asAttributeValue,
  assistantText,
  lastUserText,
  type Message,
  type ToolDefinition,
} from '../genai/message-model.ts'
import type { Attributes, AttributeValue, Span } from '../span-model.ts'

export type AliasSource =
  /** One attribute key, taken as it is. */
  | { kind: 'key'; key: string }
  /** A path into one attribute's value (JSON text included): `key` then `steps`. */
  | { kind: 'path'; key: string; steps: readonly string[] }

const key = (k: string): AliasSource => ({ kind: 'key', key: k })

/** Aliases read from attribute keys, in order; SQL compiles them exactly. */
export const KEYED_ALIASES = {
  model: [
    key('gen_ai.request.model'),
    key('llm.request.model'),
    // OpenInference records the request model only among the invocation parameters (JSON).
    { kind: 'path', key: 'llm.invocation_parameters', steps: ['model'] },
    key('gen_ai.response.model'),
    key('llm.response.model'),
    key('llm.model_name'),
    key('model'),
  ],
  response_model: [key('gen_ai.response.model'), key('llm.response.model'), key('llm.model_name')],
} as const satisfies Record<string, readonly AliasSource[]>

/** Aliases computed from the message model; SQL pre-filters them with a superset. */
export const MESSAGE_ALIASES = {
  input: (span: Span) => nonEmptyList(extractGenAi(span).input),
  output: (span: Span) => nonEmptyList(extractGenAi(span).output),
  input_text: (span: Span) => lastUserText(extractGenAi(span).input),
  output_text: (span: Span) => assistantText(extractGenAi(span).output),
  system: (span: Span) => extractGenAi(span).system || undefined,
  tools: (span: Span) => nonEmptyList(extractGenAi(span).tools),
  prompt_variables: (span: Span) => extractGenAi(span).promptVariables,
} as const satisfies Record<string, (span: Span) => AttributeValue | undefined>

export type KeyedAliasName = keyof typeof KEYED_ALIASES
export type MessageAliasName = keyof typeof MESSAGE_ALIASES
export type AliasName = KeyedAliasName | MessageAliasName

/** Every alias name, in documentation order. */
export const ALIAS_NAMES: readonly AliasName[] = [
  ...Object.keys(MESSAGE_ALIASES),
  ...Object.keys(KEYED_ALIASES),
] as AliasName[]

/** The aliases whose SQL compilation means exactly what the JS matcher means. */
export const EXACT_SQL_ALIASES: readonly AliasName[] = Object.keys(KEYED_ALIASES) as AliasName[]

export function isSemanticAlias(name: string): name is AliasName {
  return Object.hasOwn(KEYED_ALIASES, name) || Object.hasOwn(MESSAGE_ALIASES, name)
}

export function isKeyedAlias(name: AliasName): name is KeyedAliasName {
  return Object.hasOwn(KEYED_ALIASES, name)
}

function nonEmptyList(list: readonly Message[] | readonly ToolDefinition[]): AttributeValue | undefined {
  return list.length > 0 ? asAttributeValue(list) : undefined
}

/**
 * The value of one keyed-alias source among a span's attributes (undefined when absent).
 * `walkValue` walks a path's steps (the attribute-path walker, which reads JSON text).
 */
export function aliasSourceValue(
  attributes: Attributes,
  source: AliasSource,
  walkValue: (value: AttributeValue, steps: readonly string[]) => AttributeValue | undefined,
): AttributeValue | undefined {
  if (!Object.hasOwn(attributes, source.key)) return undefined
  const value = attributes[source.key] as AttributeValue
  return source.kind === 'key' ? value : walkValue(value, source.steps)
}

/** Not absent, not null, not a non-finite number (JSON, and so storage, writes those as null). */
export function hasValue(value: AttributeValue | undefined): value is AttributeValue {
  return value !== undefined && value !== null && (typeof value !== 'number' || Number.isFinite(value))
}
