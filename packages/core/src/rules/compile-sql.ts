/**
 * The backfill compilation of a predicate: a boolean ClickHouse expression over the columns
 * of `spans`, meaning exactly what compile-js.ts's matcher means (predicate.ts defines it;
 * rule-sql-agreement.integration.test.ts checks the two against each other on the engine).
 *
 * Attribute values are stored as their JSON text (Map(LowCardinality(String), String)),
 * events as one JSON array. A field resolves to a list of candidates tried in order, as
 * resolveAttributePath tries them: the whole key, then each shorter key prefix walked into
 * its value, span attributes before resource attributes; the first candidate found decides
 * (multiIf). Each operator tests a candidate's raw JSON text, typed by its first character
 * (`"` string, `[`/`{` structure, `true`/`false`, `null`) or by parsing it as a number, so a
 * stored value the JSON parser refuses (an integer beyond 64 bits) still compares. Every
 * expression is a non-null 0/1, so `NOT` means what it means in JS. Every user value
 * (operands, keys, event names, patterns) is a query parameter, never SQL text.
 *
 * The message aliases (`input`, `input_text`, `system`, … of semantic-fields.ts) are read
 * from the message model, which the engine cannot build. Their leaves compile to a bound:
 * under an even number of `not`s an upper bound (a superset of the spans JS accepts), under
 * an odd number a lower bound (`0`), so the whole condition is a superset and a backfill,
 * which runs the JS matcher on what the SQL finds, takes exactly what streaming takes.
 * `isExactSql` tells which predicates compile exactly.
 */
import {
  type BuiltInName,
  classifyEventField,
  classifyField,
  type FieldRef,
  PREDICATE_BUILT_INS,
} from './fields.ts'
import { type Leaf, leafOf, type Predicate, type Scalar } from './predicate.ts'
import { assertCompilable, PredicateCompileError, parseRegex } from './predicate-check.ts'
import { isKeyedAlias, KEYED_ALIASES, type KeyedAliasName } from './semantic-fields.ts'

export interface SqlCondition {
  sql: string
  params: Record<string, unknown>
}

const PARAM_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,30}$/

/**
 * A predicate as a condition over `spans`, its values bound as `{<prefix>_<n>:Type}`
 * parameters (for @clickhouse/client's query_params). Throws on a predicate that
 * checkPredicate refuses (PredicateCompileError).
 */
export function predicateToSql(p: Predicate, paramPrefix = 'p'): SqlCondition {
  if (!PARAM_PREFIX.test(paramPrefix))
    throw new Error(`parameter prefix must be an identifier, got ${paramPrefix}`)
  assertCompilable(p)
  const params = createParams(paramPrefix)
  const sql = compileNode(p, spanScope, params, true)
  return { sql, params: params.values }
}

/** Whether predicateToSql's condition means exactly the predicate (no message alias in it). */
export function isExactSql(p: Predicate): boolean {
  if ('field' in p) return !isMessageAlias(p.field)
  if ('all' in p) return p.all.every(isExactSql)
  if ('any' in p) return p.any.every(isExactSql)
  if ('not' in p) return isExactSql(p.not)
  return true // event fields are event attributes, never aliases
}

function isMessageAlias(field: string): boolean {
  const ref = classifyField(field)
  return ref.kind === 'alias' && !isKeyedAlias(ref.name)
}

interface Params {
  values: Record<string, unknown>
  /** A placeholder for a value; equal values of one type share a parameter. */
  bind(type: string, value: unknown): string
}

function createParams(prefix: string): Params {
  const values: Record<string, unknown> = {}
  const byValue = new Map<string, string>()
  return {
    values,
    bind(type, value) {
      const key = `${type}\u0000${JSON.stringify(value)}`
      let placeholder = byValue.get(key)
      if (placeholder === undefined) {
        const name = `${prefix}_${byValue.size}`
        values[name] = value
        placeholder = `{${name}:${type}}`
        byValue.set(key, placeholder)
      }
      return placeholder
    },
  }
}

// The client refuses JS numbers beyond ±2^53; a Float64 parameter parses the shortest
// round-trip text exactly, so numbers always travel as their JS text.
const float = (params: Params, n: number) => params.bind('Float64', String(n))
const text = (params: Params, s: string) => params.bind('String', s)

/** Where field keys are looked up: the span (columns) or one event (a lambda over its JSON). */
interface Scope {
  /** `positive`: under an even number of `not`s (where an inexact leaf must over-approximate). */
  leaf(leaf: Leaf, params: Params, positive: boolean): string
  event?(name: string, where: string | undefined, params: Params): string
}

function compileNode(p: Predicate, scope: Scope, params: Params, positive: boolean): string {
  if ('field' in p) return scope.leaf(leafOf(p), params, positive)
  if ('all' in p)
    return joined(
      p.all.map((c) => compileNode(c, scope, params, positive)),
      'AND',
    )
  if ('any' in p)
    return joined(
      p.any.map((c) => compileNode(c, scope, params, positive)),
      'OR',
    )
  if ('not' in p) return `(NOT ${compileNode(p.not, scope, params, !positive)})`
  if ('event' in p && scope.event) {
    const where = p.event.where ? compileNode(p.event.where, eventScope, params, positive) : undefined
    return scope.event(p.event.name, where, params)
  }
  throw new PredicateCompileError('not a predicate')
}

function joined(parts: string[], operator: 'AND' | 'OR'): string {
  return parts.length === 1 ? parts[0]! : `(${parts.join(` ${operator} `)})`
}

// --- Candidates -------------------------------------------------------------------------

/** One way a field may resolve: when `cond` holds, the value is the JSON text `raw`. */
interface Candidate {
  cond: string
  raw: string
  /** An attribute's whole stored value (a structure has its JSON text for text operators). */
  whole: boolean
}

/** A JSON-text attribute map: a Map column, or an event's `attributes` object. */
interface KeySource {
  has(key: string): string
  get(key: string): string
  /** Whether a whole value is stored as JSON.stringify wrote it (so its text is the JS text). */
  verbatim: boolean
}

const mapColumn = (column: string, params: Params): KeySource => ({
  has: (key) => `mapContains(${column}, ${text(params, key)})`,
  get: (key) => `${column}[${text(params, key)}]`,
  verbatim: true,
})

// Inside arrayExists(ev -> …, JSONExtractArrayRaw(events)): re-serialized by ClickHouse.
const eventAttributes = (params: Params): KeySource => ({
  has: (key) => `JSONHas(ev, 'attributes', ${text(params, key)})`,
  get: (key) => `JSONExtractRaw(ev, 'attributes', ${text(params, key)})`,
  verbatim: false,
})

/** resolveAttributePath's candidates for one path in one source. */
function lookupCandidates(source: KeySource, path: string, params: Params): Candidate[] {
  const candidates: Candidate[] = [{ cond: source.has(path), raw: source.get(path), whole: source.verbatim }]
  const parts = path.split('.')
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    const key = parts.slice(0, cut).join('.')
    let raw = source.get(key)
    parts.slice(cut).forEach((step, depth) => {
      raw = walkStep(raw, step, depth, params)
    })
    candidates.push({ cond: `(${source.has(key)} AND ${raw} != '')`, raw, whole: false })
  }
  return candidates
}

/**
 * One step into a JSON text, as attribute-walk.ts walks: a JSON string is first unwrapped
 * and walked only when it holds an object or array (first character `{` or `[`); then an
 * object key, or, for a decimal step on an array, an index (ClickHouse counts from 1;
 * JSONExtractRaw answers '' for what is not there). The value is bound once through
 * arrayMap so nested steps do not repeat it.
 */
function walkStep(raw: string, step: string, depth: number, params: Params): string {
  const key = text(params, step)
  const index = /^\d+$/.test(step) ? Number(step) : -1
  const position = index < 0 || index > 0x7fffffff ? undefined : params.bind('Int64', index + 1)
  const into = (v: string) => {
    const onObject = `if(startsWith(${v}, '{'), JSONExtractRaw(${v}, ${key}), '')`
    return position === undefined
      ? onObject
      : `if(startsWith(${v}, '['), JSONExtractRaw(${v}, ${position}), ${onObject})`
  }
  const v = `w${depth}`
  return `arrayElement(arrayMap(${v} -> if(startsWith(${v}, '"'), ${into(`JSONExtractString(${v})`)}, ${into(v)}), [${raw}]), 1)`
}

/** A keyed alias: one candidate per source, found when the source has a non-null value. */
function aliasCandidates(name: KeyedAliasName, params: Params): Candidate[] {
  return KEYED_ALIASES[name].map((source) => {
    const key = text(params, source.key)
    if (source.kind === 'key') {
      return {
        cond: `(mapContains(attributes, ${key}) AND attributes[${key}] != 'null')`,
        raw: `attributes[${key}]`,
        whole: true,
      }
    }
    let raw = `attributes[${key}]`
    source.steps.forEach((step, depth) => {
      raw = walkStep(raw, step, depth, params)
    })
    return {
      cond: `(mapContains(attributes, ${key}) AND ${raw} != '' AND ${raw} != 'null')`,
      raw,
      whole: false,
    }
  })
}

function spanCandidates(ref: FieldRef, params: Params): Candidate[] {
  switch (ref.kind) {
    case 'alias':
      if (!isKeyedAlias(ref.name)) throw new PredicateCompileError(`${ref.name} has no exact SQL`)
      return aliasCandidates(ref.name, params)
    case 'attribute': {
      const attributes = () => lookupCandidates(mapColumn('attributes', params), ref.key, params)
      const resource = () => lookupCandidates(mapColumn('resource_attributes', params), ref.key, params)
      if (ref.source === 'attributes') return attributes()
      if (ref.source === 'resource') return resource()
      return [...attributes(), ...resource()]
    }
    default:
      throw new PredicateCompileError(`not an attribute field: ${JSON.stringify(ref)}`)
  }
}

/** The leaf over candidates: the first candidate found decides; none found is `absent`. */
function overCandidates(candidates: Candidate[], test: (c: Candidate) => string): string {
  if (candidates.length === 1) return `(${candidates[0]!.cond} AND ${test(candidates[0]!)})`
  const branches = candidates.map((c) => `${c.cond}, ${test(c)}`).join(', ')
  return `multiIf(${branches}, 0)`
}

// --- Operators on JSON text -------------------------------------------------------------

const isString = (raw: string) => `startsWith(${raw}, '"')`
const isStructure = (raw: string) => `(startsWith(${raw}, '[') OR startsWith(${raw}, '{'))`
const asNumber = (raw: string) => `toFloat64OrNull(${raw})`
const present = (raw: string) => `${raw} != 'null'`

function equalsTest(raw: string, value: Scalar, params: Params): string {
  if (typeof value === 'string')
    return `(${isString(raw)} AND JSONExtractString(${raw}) = ${text(params, value)})`
  if (typeof value === 'number') return `ifNull(${asNumber(raw)} = ${float(params, value)}, 0)`
  return `${raw} = ${text(params, String(value))}`
}

function inTest(raw: string, values: Scalar[], params: Params): string {
  const first = values[0]
  if (typeof first === 'string') {
    return `(${isString(raw)} AND JSONExtractString(${raw}) IN ${params.bind('Array(String)', values)})`
  }
  if (typeof first === 'number') {
    const list = values.map((v) => float(params, v as number)).join(', ')
    return `ifNull(${asNumber(raw)} IN (${list}), 0)`
  }
  return `${raw} IN ${params.bind('Array(String)', values.map(String))}`
}

const COMPARISONS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

function textCondition(
  op: 'contains' | 'starts_with' | 'ends_with' | 'matches',
  value: string,
  params: Params,
) {
  let bound: string
  if (op === 'matches') {
    const parsed = parseRegex(value)
    if (!parsed.ok) throw new PredicateCompileError(`matches: ${parsed.message}`)
    bound = text(params, parsed.program.re2)
  } else {
    bound = text(params, value)
  }
  return (t: string): string => {
    switch (op) {
      case 'contains':
        return `position(${t}, ${bound}) > 0`
      case 'starts_with':
        return `startsWith(${t}, ${bound})`
      case 'ends_with':
        return `endsWith(${t}, ${bound})`
      case 'matches':
        return `match(${t}, ${bound})`
    }
  }
}

/** A leaf over a JSON-valued field. */
function jsonLeaf(leaf: Leaf, candidates: Candidate[], params: Params): string {
  switch (leaf.op) {
    case 'exists':
      return overCandidates(candidates, (c) => present(c.raw))
    case 'missing':
      return `(NOT ${overCandidates(candidates, (c) => present(c.raw))})`
    case 'equals':
      return overCandidates(candidates, (c) => equalsTest(c.raw, leaf.value, params))
    case 'not_equals':
      return overCandidates(
        candidates,
        (c) => `(${present(c.raw)} AND NOT ${equalsTest(c.raw, leaf.value, params)})`,
      )
    case 'in':
      return overCandidates(candidates, (c) => inTest(c.raw, leaf.values, params))
    case 'not_in':
      return overCandidates(
        candidates,
        (c) => `(${present(c.raw)} AND NOT ${inTest(c.raw, leaf.values, params)})`,
      )
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = float(params, leaf.value)
      return overCandidates(
        candidates,
        (c) => `ifNull(${asNumber(c.raw)} ${COMPARISONS[leaf.op]} ${bound}, 0)`,
      )
    }
    default: {
      const test = textCondition(leaf.op, leaf.value, params)
      return overCandidates(candidates, (c) => {
        const onString = `(${isString(c.raw)} AND ${test(`JSONExtractString(${c.raw})`)})`
        return c.whole ? `(${onString} OR (${isStructure(c.raw)} AND ${test(c.raw)}))` : onString
      })
    }
  }
}

// --- Built-in fields --------------------------------------------------------------------

/** The column expression of each built-in (Record: a new built-in without a column does not compile). */
const BUILT_IN_COLUMNS: Record<BuiltInName, string> = {
  'span.name': 'name',
  'span.kind': 'kind',
  'span.status': 'status_code',
  'span.status_message': 'status_message',
  // Float64 division of the UInt64 column, as JS divides Number(durationNano).
  'span.duration_ms': '(duration_ns / 1e6)',
  'service.name': 'service_name',
  'scope.name': 'scope_name',
  'scope.version': 'scope_version',
  'trace.id': 'toString(trace_id)',
  'span.id': 'toString(span_id)',
  'span.parent_id': 'parent_span_id',
}

function builtInLeaf(name: BuiltInName, leaf: Leaf, params: Params): string {
  const column = BUILT_IN_COLUMNS[name]
  const field = PREDICATE_BUILT_INS[name] as {
    type: 'string' | 'number' | 'enum'
    codes?: Record<string, number>
  }
  const bind = (v: Scalar): string =>
    field.type === 'enum'
      ? params.bind('UInt8', field.codes![v as string]!)
      : field.type === 'number'
        ? float(params, v as number)
        : text(params, v as string)
  switch (leaf.op) {
    case 'exists':
      return '1'
    case 'missing':
      return '0'
    case 'equals':
      return `(${column} = ${bind(leaf.value)})`
    case 'not_equals':
      return `(${column} != ${bind(leaf.value)})`
    case 'in':
      return `(${column} IN (${leaf.values.map(bind).join(', ')}))`
    case 'not_in':
      return `(${column} NOT IN (${leaf.values.map(bind).join(', ')}))`
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `(${column} ${COMPARISONS[leaf.op]} ${float(params, leaf.value)})`
    default:
      return `(${textCondition(leaf.op, leaf.value, params)(column)})`
  }
}

// --- Scopes -----------------------------------------------------------------------------

const spanScope: Scope = {
  leaf(leaf, params, positive) {
    const ref = classifyField(leaf.field)
    if (ref.kind === 'built-in') return builtInLeaf(ref.name, leaf, params)
    if (ref.kind === 'alias' && !isKeyedAlias(ref.name))
      return messageAliasBound(ref.name, leaf, params, positive)
    return jsonLeaf(leaf, spanCandidates(ref, params), params)
  },
  event(name, where, params) {
    const named = `JSONExtractString(ev, 'name') = ${text(params, name)}`
    const body = where === undefined ? named : `${named} AND ${where}`
    return `arrayExists(ev -> ${body}, JSONExtractArrayRaw(events))`
  },
}

/** Message aliases whose value is one text taken verbatim from recorded strings (joined by newlines). */
const TEXT_ALIASES = new Set(['input_text', 'output_text', 'system'])

/**
 * Text that every JSON encoder writes verbatim inside a string, even when the string is
 * itself JSON inside a string: printable ASCII without quotes, backslash, slash and the
 * characters some encoders escape (`<`, `>`, `&`, `'`).
 */
const VERBATIM_TEXT = /^[\x20-\x7e]+$/
const ESCAPED_BY_SOME = /["\\/<>&']/

/** All the span's recorded text: attribute values and events, as stored. */
const HAYSTACK = `concat(arrayStringConcat(mapValues(attributes), '\n'), '\n', events)`

/**
 * A message alias's leaf as a bound. Lower bound: nothing. Upper bound: for a text alias
 * and a text operator whose operands are verbatim text, the span's stored text contains
 * every operand (the alias's text is recorded text, and such operands cannot span a joining
 * newline nor be escaped); anything else: every span.
 */
function messageAliasBound(name: string, leaf: Leaf, params: Params, positive: boolean): string {
  if (!positive) return '0'
  if (!TEXT_ALIASES.has(name)) return '1'
  const verbatim = (v: Scalar): v is string =>
    typeof v === 'string' && VERBATIM_TEXT.test(v) && !ESCAPED_BY_SOME.test(v)
  const containsAll = (values: string[]) =>
    values.map((v) => `position(${HAYSTACK}, ${text(params, v)}) > 0`).join(' OR ')
  switch (leaf.op) {
    case 'equals':
    case 'contains':
    case 'starts_with':
    case 'ends_with':
      return verbatim(leaf.value) ? `(${containsAll([leaf.value])})` : '1'
    case 'in':
      return leaf.values.every(verbatim) ? `(${containsAll(leaf.values as string[])})` : '1'
    default:
      return '1'
  }
}

const eventScope: Scope = {
  leaf(leaf, params) {
    const ref = classifyEventField(leaf.field)
    if (ref.kind !== 'attribute') throw new PredicateCompileError(`${leaf.field} is not an event attribute`)
    return jsonLeaf(leaf, lookupCandidates(eventAttributes(params), ref.key, params), params)
  },
}
