import { isExactInteger } from '../exact-integer.ts'
/**
 * The streaming compilation of a predicate: a matcher over a `Span`, built once into
 * closures (field paths split, keys and operands resolved, regexes compiled) so that a
 * span costs no parsing and, on the common paths, no allocation. The meaning is
 * predicate.ts's; compile-sql.ts must agree, and the property test on the real engine
 * holds the two to it.
 */

import { walkStep, walkValue } from '../attribute-walk.ts'
import type { Attributes, AttributeValue, Span } from '../span-model.ts'
import {
  type BuiltInName,
  classifyEventField,
  classifyField,
  type FieldRef,
  PREDICATE_BUILT_INS,
} from './fields.ts'
import { type Leaf, leafOf, type Predicate, type Scalar } from './predicate.ts'
import {
  assertCompilable,
  inRanges,
  PredicateCompileError,
  parseRegex,
  type RegexNode,
  type RegexProgram,
  unionRanges,
} from './predicate-check.ts'
import {
  type AliasName,
  aliasSourceValue,
  hasValue,
  isKeyedAlias,
  KEYED_ALIASES,
  MESSAGE_ALIASES,
} from './semantic-fields.ts'

export type SpanMatcher = (span: Span) => boolean

/**
 * Compiles a predicate into a span matcher. Throws PredicateCompileError for a predicate
 * checkPredicate refuses (rule loading reports those first, with their lines).
 */
export function compilePredicate(p: Predicate): SpanMatcher {
  assertCompilable(p)
  return compileNode<Span>(p, spanFields)
}

type Matcher<C> = (context: C) => boolean
/** Resolves a field to its value (undefined: the path resolves to nothing). */
type ValueGetter<C> = (context: C) => AttributeValue | undefined
/** Resolves a field for the text operators: its text, null when present without one, undefined when absent. */
type TextGetter<C> = (context: C) => string | null | undefined

interface FieldCompiler<C> {
  leaf(leaf: Leaf): Matcher<C>
  /** The matcher of an `event` node (span level only). */
  event?(name: string, where: Matcher<Attributes> | undefined): Matcher<C>
}

function compileNode<C>(p: Predicate, fields: FieldCompiler<C>): Matcher<C> {
  if ('field' in p) return fields.leaf(leafOf(p))
  if ('all' in p) return allOf(p.all.map((c) => compileNode(c, fields)))
  if ('any' in p) return anyOf(p.any.map((c) => compileNode(c, fields)))
  if ('not' in p) {
    const inner = compileNode(p.not, fields)
    return (c) => !inner(c)
  }
  if ('event' in p && fields.event) {
    const where = p.event.where ? compileNode<Attributes>(p.event.where, eventFields) : undefined
    return fields.event(p.event.name, where)
  }
  throw new PredicateCompileError('not a predicate')
}

function allOf<C>(ms: Matcher<C>[]): Matcher<C> {
  if (ms.length === 1) return ms[0]!
  if (ms.length === 2) {
    const [a, b] = ms as [Matcher<C>, Matcher<C>]
    return (c) => a(c) && b(c)
  }
  if (ms.length === 3) {
    const [a, b, d] = ms as [Matcher<C>, Matcher<C>, Matcher<C>]
    return (c) => a(c) && b(c) && d(c)
  }
  return (c) => {
    for (let i = 0; i < ms.length; i++) if (!ms[i]!(c)) return false
    return true
  }
}

function anyOf<C>(ms: Matcher<C>[]): Matcher<C> {
  if (ms.length === 1) return ms[0]!
  if (ms.length === 2) {
    const [a, b] = ms as [Matcher<C>, Matcher<C>]
    return (c) => a(c) || b(c)
  }
  if (ms.length === 3) {
    const [a, b, d] = ms as [Matcher<C>, Matcher<C>, Matcher<C>]
    return (c) => a(c) || b(c) || d(c)
  }
  return (c) => {
    for (let i = 0; i < ms.length; i++) if (ms[i]!(c)) return true
    return false
  }
}

// --- Span fields ------------------------------------------------------------------------

const spanFields: FieldCompiler<Span> = {
  leaf(leaf) {
    const ref = classifyField(leaf.field)
    if (ref.kind === 'built-in') return builtInLeaf(ref.name, leaf)
    return jsonLeaf(leaf, spanValueGetter(ref), spanTextGetter(ref))
  },
  event(name, where) {
    return (span) => {
      const events = span.events
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!
        if (e.name === name && (where === undefined || where(e.attributes))) return true
      }
      return false
    }
  },
}

const eventFields: FieldCompiler<Attributes> = {
  leaf(leaf) {
    const ref = classifyEventField(leaf.field)
    if (ref.kind !== 'attribute') throw new PredicateCompileError(`${leaf.field} is not an event attribute`)
    // An event attribute's structured value has no text: only strings match text operators.
    return jsonLeaf(leaf, compileLookup(ref.key), compileTextLookup(ref.key, false))
  },
}

function spanValueGetter(ref: FieldRef): ValueGetter<Span> {
  switch (ref.kind) {
    case 'alias':
      return aliasGetter(ref.name, (v) => v)
    case 'attribute': {
      const lookup = compileLookup(ref.key)
      if (ref.source === 'attributes') return (s) => lookup(s.attributes)
      if (ref.source === 'resource') return (s) => lookup(s.resourceAttributes)
      return (s) => {
        const v = lookup(s.attributes)
        return v !== undefined ? v : lookup(s.resourceAttributes)
      }
    }
    default:
      throw new PredicateCompileError(`not an attribute field: ${JSON.stringify(ref)}`)
  }
}

function spanTextGetter(ref: FieldRef): TextGetter<Span> {
  switch (ref.kind) {
    case 'alias':
      return aliasGetter(ref.name, wholeText)
    case 'attribute': {
      const lookup = compileTextLookup(ref.key, true)
      if (ref.source === 'attributes') return (s) => lookup(s.attributes)
      if (ref.source === 'resource') return (s) => lookup(s.resourceAttributes)
      return (s) => {
        const t = lookup(s.attributes)
        return t !== undefined ? t : lookup(s.resourceAttributes)
      }
    }
    default:
      throw new PredicateCompileError(`not an attribute field: ${JSON.stringify(ref)}`)
  }
}

/**
 * An alias, mapped: a keyed alias is the first of its sources (span attributes) with a
 * non-null value; a message alias is read from the span's message model.
 */
function aliasGetter<T>(name: AliasName, map: (v: AttributeValue) => T): (s: Span) => T | undefined {
  if (!isKeyedAlias(name)) {
    const read = MESSAGE_ALIASES[name]
    return (s) => {
      const v = read(s)
      return v === undefined ? undefined : map(v)
    }
  }
  const sources = KEYED_ALIASES[name]
  return (s) => {
    const a = s.attributes
    for (let i = 0; i < sources.length; i++) {
      const v = aliasSourceValue(a, sources[i]!, walkValue)
      if (hasValue(v)) return map(v)
    }
    return undefined
  }
}

// Keys that plain objects inherit: reading one needs an own-property check.
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype))

/** Reads one attribute key (keys keep their dots). */
function keyGetter(key: string): (a: Attributes) => AttributeValue | undefined {
  // Attribute values are never undefined, so a read is presence unless the key is inherited.
  if (!INHERITED.has(key)) return (a) => a[key]
  return (a) => (Object.hasOwn(a, key) ? a[key] : undefined)
}

interface Cut {
  read: (a: Attributes) => AttributeValue | undefined
  steps: Step[]
}
interface Step {
  key: string
  /** The array index the step means, -1 when it is not a decimal number. */
  index: number
}

/** The walk candidates of a dotted path: longest key prefix first (resolveAttributePath's order). */
function cutsOf(path: string): Cut[] {
  const parts = path.split('.')
  const cuts: Cut[] = []
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    cuts.push({
      read: keyGetter(parts.slice(0, cut).join('.')),
      steps: parts.slice(cut).map((key) => ({ key, index: /^\d+$/.test(key) ? Number(key) : -1 })),
    })
  }
  return cuts
}

function walk(value: AttributeValue, steps: Step[]): AttributeValue | undefined {
  let current: AttributeValue | undefined = value
  for (let i = 0; i < steps.length && current !== undefined; i++) {
    const step = steps[i]!
    current = walkStep(current, step.key, step.index)
  }
  return current
}

/** resolveAttributePath's lookup in one attribute map, compiled for one path. */
function compileLookup(path: string): (a: Attributes) => AttributeValue | undefined {
  const whole = keyGetter(path)
  const cuts = cutsOf(path)
  if (cuts.length === 0) return whole
  return (a) => {
    const v = whole(a)
    if (v !== undefined) return v
    for (let i = 0; i < cuts.length; i++) {
      const cut = cuts[i]!
      const base = cut.read(a)
      if (base !== undefined) {
        const found = walk(base, cut.steps)
        if (found !== undefined) return found
      }
    }
    return undefined
  }
}

/**
 * The lookup for the text operators: a string is its own text; an array or object that is
 * an attribute's whole value (`wholeStructures`) is its JSON text, as stored; other values
 * have none (null). undefined when the path resolves to nothing.
 */
function compileTextLookup(
  path: string,
  wholeStructures: boolean,
): (a: Attributes) => string | null | undefined {
  const whole = keyGetter(path)
  const cuts = cutsOf(path)
  const wholeValue = wholeStructures ? wholeText : stringOnly
  return (a) => {
    const v = whole(a)
    if (v !== undefined) return wholeValue(v)
    for (let i = 0; i < cuts.length; i++) {
      const cut = cuts[i]!
      const base = cut.read(a)
      if (base !== undefined) {
        const found = walk(base, cut.steps)
        if (found !== undefined) return typeof found === 'string' ? found : null
      }
    }
    return undefined
  }
}

const stringOnly = (v: AttributeValue): string | null => (typeof v === 'string' ? v : null)

// The JSON text of structured values, once per value object (spans are not mutated once decoded).
const jsonTexts = new WeakMap<object, string>()

/** A whole attribute value's text: a string itself, an array or object its JSON text (as stored). */
function wholeText(v: AttributeValue): string | null {
  if (typeof v === 'string') return v
  if (v === null || typeof v !== 'object' || isExactInteger(v)) return null
  let text = jsonTexts.get(v)
  if (text === undefined) {
    text = JSON.stringify(v)
    jsonTexts.set(v, text)
  }
  return text
}

/** Present: resolves to a value that is not null (non-finite numbers are stored as null). */
const present = hasValue

function jsonLeaf<C>(leaf: Leaf, getValue: ValueGetter<C>, text: TextGetter<C>): Matcher<C> {
  // An integer past 2^53 compares as the double SQL's toFloat64OrNull reads from its digits.
  const get = (c: C) => {
    const v = getValue(c)
    return isExactInteger(v) ? Number(v.rawJSON) : v
  }
  switch (leaf.op) {
    case 'exists':
      return (c) => present(get(c))
    case 'missing':
      return (c) => !present(get(c))
    case 'equals': {
      const x = leaf.value
      return (c) => get(c) === x
    }
    case 'not_equals': {
      const x = leaf.value
      return (c) => {
        const v = get(c)
        return v !== x && present(v)
      }
    }
    case 'in': {
      const set = new Set<unknown>(leaf.values)
      return (c) => set.has(get(c))
    }
    case 'not_in': {
      const set = new Set<unknown>(leaf.values)
      return (c) => {
        const v = get(c)
        return !set.has(v) && present(v)
      }
    }
    case 'gt': {
      const x = leaf.value
      return (c) => {
        const v = get(c)
        return typeof v === 'number' && v > x && v !== Number.POSITIVE_INFINITY
      }
    }
    case 'gte': {
      const x = leaf.value
      return (c) => {
        const v = get(c)
        return typeof v === 'number' && v >= x && v !== Number.POSITIVE_INFINITY
      }
    }
    case 'lt': {
      const x = leaf.value
      return (c) => {
        const v = get(c)
        return typeof v === 'number' && v < x && v !== Number.NEGATIVE_INFINITY
      }
    }
    case 'lte': {
      const x = leaf.value
      return (c) => {
        const v = get(c)
        return typeof v === 'number' && v <= x && v !== Number.NEGATIVE_INFINITY
      }
    }
    default: {
      const test = textTest(leaf.op, leaf.value)
      return (c) => {
        const t = text(c)
        return typeof t === 'string' && test(t)
      }
    }
  }
}

function textTest(
  op: 'contains' | 'starts_with' | 'ends_with' | 'matches',
  x: string,
): (t: string) => boolean {
  switch (op) {
    case 'contains':
      return (t) => t.includes(x)
    case 'starts_with':
      return (t) => t.startsWith(x)
    case 'ends_with':
      return (t) => t.endsWith(x)
    case 'matches':
      return compileRegexMatcher(x)
  }
}

// --- Built-in fields --------------------------------------------------------------------

type BuiltInGetter =
  | { type: 'string'; get: (s: Span) => string }
  | { type: 'number'; get: (s: Span) => number }
  | { type: 'enum'; get: (s: Span) => number }

/** How the matcher reads each built-in (Record: a new built-in without a getter does not compile). */
const BUILT_IN_GETTERS: Record<BuiltInName, BuiltInGetter> = {
  'span.name': { type: 'string', get: (s) => s.name },
  'span.kind': { type: 'enum', get: (s) => s.kind },
  'span.status': { type: 'enum', get: (s) => s.statusCode },
  'span.status_message': { type: 'string', get: (s) => s.statusMessage },
  // duration_ns / 1e6 in doubles, as ClickHouse computes it from the UInt64 column.
  'span.duration_ms': { type: 'number', get: (s) => Number(s.durationNano) / 1e6 },
  'service.name': { type: 'string', get: (s) => s.serviceName },
  'scope.name': { type: 'string', get: (s) => s.scopeName },
  'scope.version': { type: 'string', get: (s) => s.scopeVersion },
  'trace.id': { type: 'string', get: (s) => s.traceId },
  'span.id': { type: 'string', get: (s) => s.spanId },
  'span.parent_id': { type: 'string', get: (s) => s.parentSpanId },
}

function builtInLeaf(name: BuiltInName, leaf: Leaf): Matcher<Span> {
  const field = BUILT_IN_GETTERS[name]
  if (leaf.op === 'exists') return () => true
  if (leaf.op === 'missing') return () => false
  if (field.type === 'enum') {
    const codes = (PREDICATE_BUILT_INS[name] as { codes?: Record<string, number> }).codes!
    const code = (v: Scalar) => codes[v as string]!
    const get = field.get
    switch (leaf.op) {
      case 'equals': {
        const x = code(leaf.value)
        return (s) => get(s) === x
      }
      case 'not_equals': {
        const x = code(leaf.value)
        return (s) => get(s) !== x
      }
      case 'in': {
        const set = new Set(leaf.values.map(code))
        return (s) => set.has(get(s))
      }
      case 'not_in': {
        const set = new Set(leaf.values.map(code))
        return (s) => !set.has(get(s))
      }
      default:
        throw new PredicateCompileError(`${name} takes equals, not_equals, in or not_in`)
    }
  }
  if (field.type === 'number') {
    const get = field.get
    // A built-in is always present: jsonLeaf's typed comparisons on a value that is never missing.
    return jsonLeaf<Span>(leaf, get, () => null)
  }
  const get = field.get
  switch (leaf.op) {
    case 'equals':
    case 'not_equals':
    case 'in':
    case 'not_in':
      return jsonLeaf<Span>(leaf, get, get)
    default: {
      const test = textTest(leaf.op as 'contains', (leaf as { value: string }).value)
      return (s) => test(get(s))
    }
  }
}

// --- Regular expressions ----------------------------------------------------------------

/**
 * A `matches` pattern as a JS function. The pattern is parsed once (predicate-check.ts's
 * subset); plain literals become includes/startsWith/endsWith, everything else runs on a
 * Thompson NFA, linear in the text length: backtracking regexes take seconds on
 * `a.*b` over 100 KB of text, which a streaming worker cannot afford (RE2 in ClickHouse is
 * linear too). Classes arrive as explicit code point ranges, the same ones RE2 is given.
 */
export function compileRegexMatcher(pattern: string): (text: string) => boolean {
  const parsed = parseRegex(pattern)
  if (!parsed.ok) throw new PredicateCompileError(`matches: ${parsed.message}`)
  return regexMatcher(parsed.program)
}

function regexMatcher(program: RegexProgram): (text: string) => boolean {
  const { node } = program
  const literal = anchoredLiteral(node)
  if (literal) {
    const { text: x, start, end } = literal
    if (start && end) return (t) => t === x
    if (start) return (t) => t.startsWith(x)
    if (end) return (t) => t.endsWith(x)
    return (t) => t.includes(x)
  }
  const nfa = compileNfa(node)
  // Under (?i) letters are classes, so a required literal is one of caseless characters.
  const required = requiredLiteral(node)
  if (required !== '') return (t) => t.includes(required) && nfa(t)
  return nfa
}

/** A pattern that is one literal string, perhaps anchored; undefined otherwise. */
function anchoredLiteral(node: RegexNode): { text: string; start: boolean; end: boolean } | undefined {
  const items = node.t === 'cat' ? node.items : [node]
  let from = 0
  let to = items.length
  const start = items[0]?.t === 'assert' && items[0].kind === 'start'
  if (start) from++
  const last = items[to - 1]
  const end = to > from && last?.t === 'assert' && last.kind === 'end'
  if (end) to--
  let text = ''
  for (let i = from; i < to; i++) {
    const item = items[i]!
    if (item.t !== 'char') return undefined
    text += String.fromCodePoint(item.cp)
  }
  if (node.t === 'empty') return { text: '', start: false, end: false }
  return { text, start, end }
}

/** The longest literal every match must contain ('' when none is known). */
function requiredLiteral(node: RegexNode): string {
  switch (node.t) {
    case 'char':
      return String.fromCodePoint(node.cp)
    case 'cat': {
      let best = ''
      let run = ''
      for (const item of node.items) {
        if (item.t === 'char') {
          run += String.fromCodePoint(item.cp)
          continue
        }
        if (run.length > best.length) best = run
        run = ''
        // Zero-width assertions do not break a run of literals.
        if (item.t === 'assert') continue
        const inner = requiredLiteral(item)
        if (inner.length > best.length) best = inner
      }
      return run.length > best.length ? run : best
    }
    case 'repeat':
      return node.min >= 1 ? requiredLiteral(node.item) : ''
    default:
      return ''
  }
}

const OP_LIT = 0
const OP_ANY = 1
const OP_CLASS = 2
const OP_SPLIT = 3
const OP_JMP = 4
const OP_ASSERT = 5
const OP_MATCH = 6
const ASSERT_START = 0
const ASSERT_END = 1
const ASSERT_WORD = 2
const ASSERT_NOT_WORD = 3

function compileNfa(root: RegexNode): (text: string) => boolean {
  const op: number[] = []
  const x: number[] = []
  const y: number[] = []
  const sets: Array<(cp: number) => boolean> = []
  const emit = (o: number, a = 0, b = 0): number => {
    op.push(o)
    x.push(a)
    y.push(b)
    return op.length - 1
  }
  const gen = (node: RegexNode): void => {
    switch (node.t) {
      case 'empty':
        return
      case 'char':
        emit(OP_LIT, node.cp)
        return
      case 'any':
        emit(OP_ANY)
        return
      case 'class':
        sets.push(classMatcher(node.ranges))
        emit(OP_CLASS, sets.length - 1)
        return
      case 'assert':
        emit(
          OP_ASSERT,
          node.kind === 'start'
            ? ASSERT_START
            : node.kind === 'end'
              ? ASSERT_END
              : node.kind === 'word'
                ? ASSERT_WORD
                : ASSERT_NOT_WORD,
        )
        return
      case 'cat':
        for (const item of node.items) gen(item)
        return
      case 'alt': {
        const jumps: number[] = []
        node.items.forEach((item, k) => {
          if (k < node.items.length - 1) {
            const split = emit(OP_SPLIT)
            x[split] = op.length
            gen(item)
            jumps.push(emit(OP_JMP))
            y[split] = op.length
          } else {
            gen(item)
          }
        })
        for (const j of jumps) x[j] = op.length
        return
      }
      case 'repeat': {
        const { item, min, max } = node
        if (max === Number.POSITIVE_INFINITY) {
          for (let k = 0; k < min - 1; k++) gen(item)
          if (min >= 1) {
            // The last required copy loops back on itself: x+.
            const top = op.length
            gen(item)
            const split = emit(OP_SPLIT, top)
            y[split] = op.length
          } else {
            const split = emit(OP_SPLIT)
            x[split] = op.length
            gen(item)
            emit(OP_JMP, split)
            y[split] = op.length
          }
          return
        }
        for (let k = 0; k < min; k++) gen(item)
        const splits: number[] = []
        for (let k = min; k < max; k++) {
          const split = emit(OP_SPLIT)
          x[split] = op.length
          splits.push(split)
          gen(item)
        }
        for (const s of splits) y[s] = op.length
        return
      }
    }
  }
  gen(root)
  emit(OP_MATCH)

  const size = op.length
  const ops = Int32Array.from(op)
  const xs = Int32Array.from(x)
  const ys = Int32Array.from(y)
  const anchoredStart = startsAnchored(root)
  // Where a match can start: a text position whose character can be the first consumed.
  const first = firstCharacters(root)
  const startsAt = first.nullable ? undefined : classMatcher(first.ranges)
  // Reused between calls: a matcher is not reentrant, and JS runs one call at a time.
  let current = new Int32Array(size)
  let next = new Int32Array(size)
  const marks = new Int32Array(size)
  const stack = new Int32Array(size * 2 + 2)
  let generation = 0
  let input = ''
  let length = 0
  let matched = false

  const isWord = (k: number): boolean => {
    if (k < 0 || k >= length) return false
    const c = input.charCodeAt(k)
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
  }
  // Adds the threads reachable from pc without consuming, at text position pos.
  const add = (into: Int32Array, intoSize: number, pc: number, pos: number): number => {
    let top = 0
    stack[top++] = pc
    while (top > 0) {
      const p = stack[--top]!
      if (marks[p] === generation) continue
      marks[p] = generation
      switch (ops[p]) {
        case OP_JMP:
          stack[top++] = xs[p]!
          break
        case OP_SPLIT:
          stack[top++] = ys[p]!
          stack[top++] = xs[p]!
          break
        case OP_ASSERT: {
          const kind = xs[p]
          const holds =
            kind === ASSERT_START
              ? pos === 0
              : kind === ASSERT_END
                ? pos === length
                : (isWord(pos - 1) !== isWord(pos)) === (kind === ASSERT_WORD)
          if (holds) stack[top++] = p + 1
          break
        }
        case OP_MATCH:
          matched = true
          return intoSize
        default:
          into[intoSize++] = p
      }
    }
    return intoSize
  }
  const canStartAt = (pos: number): boolean =>
    startsAt === undefined || (pos < length && startsAt(input.codePointAt(pos)!))
  const nextGeneration = () => {
    generation++
    if (generation > 0x3fffffff) {
      marks.fill(0)
      generation = 1
    }
  }

  return (text: string): boolean => {
    input = text
    length = text.length
    matched = false
    nextGeneration()
    // Invariant at the loop's top: `current` holds every thread at position i, the one
    // starting at i included.
    let currentSize = canStartAt(0) ? add(current, 0, 0, 0) : 0
    if (matched) return true
    let i = 0
    while (i < length) {
      if (currentSize === 0) {
        if (anchoredStart) return false
        if (startsAt !== undefined) {
          // Nothing alive: skip to the next character a match can start with.
          let p = i + (input.codePointAt(i)! > 0xffff ? 2 : 1)
          while (p < length && !startsAt(input.codePointAt(p)!)) p += input.codePointAt(p)! > 0xffff ? 2 : 1
          if (p >= length) return false
          i = p
          nextGeneration()
          currentSize = add(current, 0, 0, i)
          if (matched) return true
          continue
        }
      }
      const cp = input.codePointAt(i)!
      const nextPos = i + (cp > 0xffff ? 2 : 1)
      nextGeneration()
      let nextSize = 0
      for (let k = 0; k < currentSize; k++) {
        const p = current[k]!
        const o = ops[p]
        if (o === OP_LIT ? xs[p] === cp : o === OP_ANY || sets[xs[p]!]!(cp)) {
          nextSize = add(next, nextSize, p + 1, nextPos)
          if (matched) return true
        }
      }
      if (!anchoredStart && canStartAt(nextPos)) {
        nextSize = add(next, nextSize, 0, nextPos)
        if (matched) return true
      }
      const swap = current
      current = next
      next = swap
      currentSize = nextSize
      i = nextPos
    }
    return false
  }
}

/** The characters a match can begin with, and whether a match can consume none. */
function firstCharacters(node: RegexNode): { ranges: number[]; nullable: boolean } {
  switch (node.t) {
    case 'empty':
    case 'assert':
      return { ranges: [], nullable: true }
    case 'char':
      return { ranges: [node.cp, node.cp], nullable: false }
    case 'any':
      return { ranges: [0, 0x10ffff], nullable: false }
    case 'class':
      return { ranges: node.ranges, nullable: false }
    case 'cat': {
      let ranges: number[] = []
      for (const item of node.items) {
        const f = firstCharacters(item)
        ranges = unionRanges(ranges, f.ranges)
        if (!f.nullable) return { ranges, nullable: false }
      }
      return { ranges, nullable: true }
    }
    case 'alt': {
      let ranges: number[] = []
      let nullable = false
      for (const item of node.items) {
        const f = firstCharacters(item)
        ranges = unionRanges(ranges, f.ranges)
        nullable ||= f.nullable
      }
      return { ranges, nullable }
    }
    case 'repeat': {
      const f = firstCharacters(node.item)
      return { ranges: f.ranges, nullable: f.nullable || node.min === 0 }
    }
  }
}

function startsAnchored(node: RegexNode): boolean {
  if (node.t === 'assert') return node.kind === 'start'
  if (node.t === 'cat') return node.items.length > 0 && startsAnchored(node.items[0]!)
  if (node.t === 'alt') return node.items.every(startsAnchored)
  return false
}

/** A class's test: a table for ASCII, a binary search over its ranges beyond. */
function classMatcher(ranges: readonly number[]): (cp: number) => boolean {
  const ascii = new Uint8Array(128)
  for (let c = 0; c < 128; c++) ascii[c] = inRanges(ranges, c) ? 1 : 0
  return (c) => (c < 128 ? ascii[c] === 1 : inRanges(ranges, c))
}
