/**
 * Semantic aliases: `input`, `output` and `model` name the same thing whichever
 * instrumentation convention a span was recorded with. Rule predicates and dataset
 * mapping paths (resolveAttributePath) resolve them through this one table.
 *
 * A source is tried only among the span's own attributes (never the resource), in the
 * order below; the first one with a value (not null) wins. Conventions:
 *   - GenAI semantic conventions: `gen_ai.input.messages` / `gen_ai.output.messages`
 *     (the messages as JSON), the older `gen_ai.prompt` / `gen_ai.completion`, and the
 *     older indexed form `gen_ai.prompt.N.content` / `gen_ai.completion.N.content` (also
 *     OpenLLMetry's); `gen_ai.request.model`, `gen_ai.response.model`.
 *   - OpenInference: `input.value`, `output.value`, `llm.input_messages.N.message.content`,
 *     `llm.output_messages.N.message.content`, `llm.model_name`.
 *   - OpenLLMetry: `traceloop.entity.input` / `traceloop.entity.output` (workflow and task
 *     spans), `llm.request.model`, `llm.response.model`.
 * The indexed forms take, for the input, the message with the greatest index (the last
 * turn, the one the model answered) and, for the output, index 0 (the first choice). The
 * last source of each alias is an attribute literally named like the alias, so a span that
 * records one keeps it; `attributes.input` always reaches that attribute directly.
 */
import type { Attributes, AttributeValue } from '../span-model.ts'

export type AliasSource =
  /** One attribute key, taken as it is. */
  | { kind: 'key'; key: string }
  /** `<prefix>N<suffix>` with the greatest N (decimal, no leading zeros, at most 9 digits). */
  | { kind: 'last-indexed'; prefix: string; suffix: string }

const key = (k: string): AliasSource => ({ kind: 'key', key: k })

export const SEMANTIC_ALIASES = {
  input: [
    key('gen_ai.input.messages'),
    key('gen_ai.prompt'),
    key('input.value'),
    key('traceloop.entity.input'),
    { kind: 'last-indexed', prefix: 'gen_ai.prompt.', suffix: '.content' },
    { kind: 'last-indexed', prefix: 'llm.input_messages.', suffix: '.message.content' },
    key('input'),
  ],
  output: [
    key('gen_ai.output.messages'),
    key('gen_ai.completion'),
    key('output.value'),
    key('traceloop.entity.output'),
    key('gen_ai.completion.0.content'),
    key('llm.output_messages.0.message.content'),
    key('output'),
  ],
  model: [
    key('gen_ai.request.model'),
    key('gen_ai.response.model'),
    key('llm.model_name'),
    key('llm.request.model'),
    key('llm.response.model'),
    key('model'),
  ],
} as const satisfies Record<string, readonly AliasSource[]>

export type AliasName = keyof typeof SEMANTIC_ALIASES

export function isSemanticAlias(name: string): name is AliasName {
  return Object.hasOwn(SEMANTIC_ALIASES, name)
}

/** The source pattern of a last-indexed source's keys (capture 1: the index). */
export function indexedKeyPattern(source: { prefix: string; suffix: string }): string {
  return `^${escapeRegex(source.prefix)}(0|[1-9][0-9]{0,8})${escapeRegex(source.suffix)}$`
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The key of a last-indexed source with the greatest index, undefined when there is none. */
export function lastIndexedKey(
  attributes: Attributes,
  source: { prefix: string; suffix: string },
): string | undefined {
  const { prefix, suffix } = source
  let best = -1
  let bestKey: string | undefined
  // No regex and no allocation: this runs per span for rules on `input`.
  for (const k in attributes) {
    const digitsEnd = k.length - suffix.length
    const digits = digitsEnd - prefix.length
    if (digits < 1 || digits > 9 || !k.startsWith(prefix) || !k.endsWith(suffix)) continue
    if (digits > 1 && k.charCodeAt(prefix.length) === 48) continue // a leading zero is not an index
    let index = 0
    for (let i = prefix.length; i < digitsEnd; i++) {
      const c = k.charCodeAt(i)
      if (c < 48 || c > 57) {
        index = -1
        break
      }
      index = index * 10 + (c - 48)
    }
    if (index > best) {
      best = index
      bestKey = k
    }
  }
  return bestKey
}

/** The value of one alias source among a span's attributes (undefined when absent). */
export function aliasSourceValue(attributes: Attributes, source: AliasSource): AttributeValue | undefined {
  if (source.kind === 'key') return Object.hasOwn(attributes, source.key) ? attributes[source.key] : undefined
  const k = lastIndexedKey(attributes, source)
  return k === undefined ? undefined : attributes[k]
}

/**
 * An alias's value: the first of its sources with a value, else undefined. null, and a
 * non-finite number (stored as null), count as no value.
 */
export function resolveSemanticAlias(attributes: Attributes, name: AliasName): AttributeValue | undefined {
  for (const source of SEMANTIC_ALIASES[name]) {
    const value = aliasSourceValue(attributes, source)
    if (hasValue(value)) return value
  }
  return undefined
}

/** Not absent, not null, not a non-finite number (JSON, and so storage, writes those as null). */
export function hasValue(value: AttributeValue | undefined): value is AttributeValue {
  return value !== undefined && value !== null && (typeof value !== 'number' || Number.isFinite(value))
}
