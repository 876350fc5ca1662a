import { walkValue } from '../attribute-walk.ts'
import {
  type AliasName,
  aliasSourceValue,
  hasValue,
  isKeyedAlias,
  isSemanticAlias,
  KEYED_ALIASES,
  MESSAGE_ALIASES,
} from '../rules/semantic-fields.ts'
import type { AttributeValue, Span } from '../span-model.ts'
import { formatRfc3339Nano } from '../time.ts'

const STATUS_NAMES = ['unset', 'ok', 'error'] as const

/** Values every span has, addressable by these names ahead of its attributes. */
const BUILT_INS: Record<string, (span: Span) => AttributeValue> = {
  'trace.id': (s) => s.traceId,
  'span.id': (s) => s.spanId,
  'span.parent_id': (s) => s.parentSpanId,
  'span.name': (s) => s.name,
  'span.kind': (s) => s.kind,
  'service.name': (s) => s.serviceName,
  'span.start_time': (s) => formatRfc3339Nano(s.startTimeUnixNano),
  'span.end_time': (s) => formatRfc3339Nano(s.endTimeUnixNano),
  // A decimal string: nanosecond durations do not fit a JSON number exactly.
  'span.duration_ns': (s) => s.durationNano.toString(),
  'span.status': (s) => STATUS_NAMES[s.statusCode] ?? 'unset',
  'span.status_message': (s) => s.statusMessage,
  'scope.name': (s) => s.scopeName,
  'scope.version': (s) => s.scopeVersion,
  'application.id': (s) => s.applicationId,
}

/** The built-in path names (for documentation and validation messages). */
export const BUILT_IN_PATHS = Object.keys(BUILT_INS)

/**
 * Resolves an attribute path against a span: a built-in (`trace.id`, `span.name`, …),
 * else a semantic alias (`input`, `input_text`, `model`, …: rules/semantic-fields.ts), else
 * the span's attributes, else its resource attributes. Attribute keys keep their dots
 * (`gen_ai.request.model` is one key); when no key matches the whole path, the longest
 * matching key prefix is taken and the rest walks into the value (attribute-walk.ts),
 * JSON held in a string included (`gen_ai.input.messages.1.parts.0.content`).
 * `attributes.x` / `resource.x` force one source.
 * Returns undefined when the path resolves to nothing. Pure; the rules feature reuses it.
 */
export function resolveAttributePath(span: Span, path: string): AttributeValue | undefined {
  if (path.startsWith('attributes.')) return lookup(span.attributes, path.slice('attributes.'.length))
  if (path.startsWith('resource.')) return lookup(span.resourceAttributes, path.slice('resource.'.length))
  // hasOwn: `constructor` and the like are attribute keys, not Object.prototype's.
  if (Object.hasOwn(BUILT_INS, path)) return BUILT_INS[path]!(span)
  if (isSemanticAlias(path)) return resolveSemanticAlias(span, path)
  const own = lookup(span.attributes, path)
  if (own !== undefined) return own
  return lookup(span.resourceAttributes, path)
}

function lookup(attributes: Record<string, AttributeValue>, path: string): AttributeValue | undefined {
  if (path === '') return undefined
  if (Object.hasOwn(attributes, path)) return attributes[path]
  // Longest key that is a dotted prefix of the path, then walk the rest.
  const parts = path.split('.')
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    const key = parts.slice(0, cut).join('.')
    if (Object.hasOwn(attributes, key)) {
      const found = walkValue(attributes[key] as AttributeValue, parts.slice(cut))
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** An alias's value, undefined when it has none. */
export function resolveSemanticAlias(span: Span, name: AliasName): AttributeValue | undefined {
  if (!isKeyedAlias(name)) return MESSAGE_ALIASES[name](span)
  for (const source of KEYED_ALIASES[name]) {
    const value = aliasSourceValue(span.attributes, source, walkValue)
    if (hasValue(value)) return value
  }
  return undefined
}
