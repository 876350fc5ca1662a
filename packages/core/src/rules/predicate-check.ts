/**
 * Load-time typing of predicates, and the regular-expression subset of `matches`.
 *
 * checkPredicate refuses what is surely a mistake (a known string field compared with a
 * number, text operators on a number, an enum value that does not exist, an unknown
 * built-in) and what the two compilations could not agree on (regex features that
 * JavaScript and ClickHouse's RE2 do not share). Both compilers call it and throw on a
 * refused predicate, so whatever compiles means the same thing in JS and in SQL.
 *
 * The regex subset (parsed here; both engines get it resolved: every class, and under (?i)
 * every letter, becomes the explicit code points it matches, so RE2 gets a normalized
 * pattern of literals and ranges and JavaScript a linear-time matcher over the same ranges
 * (compile-js.ts); neither engine's own Unicode tables, case folding or \s decide anything):
 *   - literals (any character; escape the syntax characters `\ ^ $ . | ? * + ( ) [ ] { }`
 *     with a backslash; any ASCII punctuation may be escaped), `.` (any character,
 *     newlines included), `^` and `$` (start and end of the whole text; no multiline mode)
 *   - escapes: \d \D \w \W \s \S (ASCII: \d [0-9], \w [0-9A-Za-z_], \s [\t\n\f\r ]),
 *     \b (ASCII word boundary), \t \n \r \f \v, \xHH, \uHHHH, \u{H…}, and \p{C} \P{C} for
 *     the Unicode general categories L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi
 *     Pf Po S Sm Sc Sk So Z Zs Zl Zp Cc Cf Co, by the Unicode version of this Node.js
 *   - classes [abc], [^a-z], with the escapes above inside (a literal [ inside a class is
 *     written \[, a ] as \], a - at the start or end, or \-)
 *   - groups (…) and (?:…) (captures play no part: matches only says whether), | alternation
 *   - quantifiers * + ? {n} {n,} {n,m} (n, m ≤ 1000), greedy or lazy (same answer)
 *   - `(?i)` at the very start: case-insensitive, each character matching its case orbit
 *     under Unicode simple case folding (k K and the Kelvin sign; s S and ſ; ß and ẞ), a
 *     negated class matching what the folded class does not
 * Refused: lookahead and lookbehind, backreferences (\1, \k<…>), named groups, other inline
 * flags and flag groups, possessive quantifiers, POSIX classes ([[:alpha:]]), \B (RE2 finds
 * it between the bytes of a multi-byte character), \A \z \Q \0 \c and other escapes, \p
 * with script names or other categories, empty classes [] and [^], patterns longer than
 * 1000 characters or expanding to more than 1000 atoms once counted repeats are written out.
 */
import {
  classifyEventField,
  classifyField,
  type FieldRef,
  type FieldType,
  fieldType,
  hasLoneSurrogate,
  PREDICATE_BUILT_INS,
} from './fields.ts'
import {
  type FieldPredicate,
  type Leaf,
  leafOf,
  NUMBER_OPERATORS,
  type Predicate,
  type Scalar,
  TEXT_OPERATORS,
} from './predicate.ts'

export interface PredicateIssue {
  /** Relative to the predicate checked, e.g. ['all', 1, 'gt']. */
  path: Array<string | number>
  message: string
}

/** A predicate checkPredicate refuses: compiling it would give the two compilations different meanings. */
export class PredicateCompileError extends Error {
  override name = 'PredicateCompileError'
}

/** Throws PredicateCompileError with the first issue of a refused predicate. */
export function assertCompilable(p: Predicate): void {
  const issues = checkPredicate(p)
  if (issues.length > 0) {
    const first = issues[0]!
    throw new PredicateCompileError(`${first.path.join('.') || 'predicate'}: ${first.message}`)
  }
}

/** Nesting deeper than this is refused (the SQL condition grows with it). */
export const MAX_PREDICATE_DEPTH = 32
/** Predicates with more nodes than this are refused. */
export const MAX_PREDICATE_NODES = 1000

/** The issues of a predicate; an empty list means it compiles, to JS and to SQL alike. */
export function checkPredicate(p: Predicate): PredicateIssue[] {
  const issues: PredicateIssue[] = []
  let nodes = 0
  const visit = (node: Predicate, path: Array<string | number>, depth: number, inEvent: boolean): void => {
    nodes++
    if (nodes === MAX_PREDICATE_NODES + 1) {
      issues.push({ path: [], message: `the predicate has more than ${MAX_PREDICATE_NODES} nodes` })
    }
    if (depth > MAX_PREDICATE_DEPTH) {
      issues.push({ path, message: `predicates nest deeper than ${MAX_PREDICATE_DEPTH} levels` })
      return
    }
    if (typeof node !== 'object' || node === null) {
      issues.push({ path, message: 'a predicate is a mapping' })
      return
    }
    if ('field' in node) {
      checkLeaf(node as FieldPredicate, path, inEvent, issues)
    } else if ('all' in node || 'any' in node) {
      const key = 'all' in node ? 'all' : 'any'
      const list = (node as unknown as Record<string, unknown>)[key]
      if (!Array.isArray(list) || list.length === 0) {
        issues.push({ path: [...path, key], message: `${key} needs at least one predicate` })
        return
      }
      list.forEach((child, i) => {
        visit(child as Predicate, [...path, key, i], depth + 1, inEvent)
      })
    } else if ('not' in node) {
      visit(node.not, [...path, 'not'], depth + 1, inEvent)
    } else if ('event' in node) {
      if (inEvent) {
        issues.push({
          path: [...path, 'event'],
          message: 'an event has no events: event cannot nest inside event.where',
        })
        return
      }
      const { name, where } = node.event ?? {}
      if (typeof name !== 'string' || name === '') {
        issues.push({ path: [...path, 'event', 'name'], message: 'event.name takes a non-empty string' })
      } else if (hasLoneSurrogate(name)) {
        issues.push({
          path: [...path, 'event', 'name'],
          message: 'event.name contains an unpaired UTF-16 surrogate',
        })
      }
      if (where !== undefined) visit(where, [...path, 'event', 'where'], depth + 1, true)
    } else {
      issues.push({ path, message: 'a predicate is {field, <operator>}, {all}, {any}, {not} or {event}' })
    }
  }
  visit(p, [], 0, false)
  return issues
}

const typeOfScalar = (v: Scalar): 'string' | 'number' | 'boolean' =>
  typeof v as 'string' | 'number' | 'boolean'

function checkLeaf(
  node: FieldPredicate,
  path: Array<string | number>,
  inEvent: boolean,
  issues: PredicateIssue[],
): void {
  let leaf: Leaf
  try {
    leaf = leafOf(node)
  } catch {
    issues.push({ path, message: `field "${node.field}" needs one operator` })
    return
  }
  const ref: FieldRef = inEvent ? classifyEventField(leaf.field) : classifyField(leaf.field)
  if (ref.kind === 'refused') {
    issues.push({ path: [...path, 'field'], message: ref.message })
    return
  }
  const problem = leafProblem(leaf, fieldType(ref))
  if (problem) issues.push({ path: [...path, leaf.op], message: problem })
}

/** What is wrong with a leaf on a field of a known type, or undefined. */
function leafProblem(leaf: Leaf, type: FieldType): string | undefined {
  const name = leaf.field
  const isOrdering = (NUMBER_OPERATORS as readonly string[]).includes(leaf.op)
  // Operands first: what no field could take.
  const operands: Scalar[] = 'values' in leaf ? leaf.values : 'value' in leaf ? [leaf.value] : []
  if ('values' in leaf) {
    if (!Array.isArray(leaf.values) || leaf.values.length === 0) return `${leaf.op} needs at least one value`
    const kinds = new Set(leaf.values.map(typeOfScalar))
    if (kinds.size > 1) return `${leaf.op} mixes ${[...kinds].join(' and ')} values: list values of one type`
  }
  for (const v of operands) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${leaf.op} takes a finite number`
      if (Number.isInteger(v) && !Number.isSafeInteger(v) && !isOrdering) {
        return `${v} is beyond ±2^53, where integers are not exact: equality with it would surprise`
      }
    } else if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) return `${leaf.op} contains an unpaired UTF-16 surrogate`
    } else if (typeof v !== 'boolean') {
      return `${leaf.op} takes a string, a number or a boolean`
    }
  }
  if (leaf.op === 'exists' || leaf.op === 'missing') return undefined
  const operandKind = operands.length > 0 ? typeOfScalar(operands[0]!) : undefined
  const isText = (TEXT_OPERATORS as readonly string[]).includes(leaf.op)
  const isNumeric = isOrdering
  if (isText && operandKind !== 'string') return `${leaf.op} takes a string`
  if (isNumeric && operandKind !== 'number') return `${leaf.op} takes a number`

  switch (type) {
    case 'enum': {
      const codes =
        (PREDICATE_BUILT_INS as Record<string, { codes?: Record<string, number> }>)[name]?.codes ?? {}
      const names = Object.keys(codes)
      if (isText || isNumeric) {
        return `${name} is one of ${names.join(', ')}: compare it with equals, not_equals, in or not_in`
      }
      for (const v of operands) {
        if (typeof v !== 'string' || !Object.hasOwn(codes, v)) {
          return `${name} has no value ${JSON.stringify(v)}${nearest(v, names)}: it is one of ${names.join(', ')}`
        }
      }
      return undefined
    }
    case 'string':
    case 'text':
      if (isNumeric) return `${name} is a string: ${leaf.op} compares numbers`
      if (operandKind !== 'string') {
        return `${name} is a string: compare it with a string, not a ${operandKind}${quoteHint(operands[0]!)}`
      }
      break
    case 'number':
      if (isText) return `${name} is a number: ${leaf.op} applies to strings`
      if (operandKind !== 'number')
        return `${name} is a number: compare it with a number, not a ${operandKind}`
      break
    case 'boolean':
      if (isText || isNumeric) return `${name} is a boolean: compare it with equals or not_equals true/false`
      if (operandKind !== 'boolean') {
        return `${name} is a boolean: compare it with true or false (without quotes), not a ${operandKind}`
      }
      break
    case 'array':
      return `${name} is a list: only exists and missing apply to it`
    case 'unknown':
      break
  }
  if (leaf.op === 'matches') {
    const parsed = parseRegex(leaf.value)
    if (!parsed.ok) return `matches: ${parsed.message}`
  }
  return undefined
}

function quoteHint(v: Scalar): string {
  return typeof v === 'number' || typeof v === 'boolean'
    ? ` (write "${v}" in quotes to compare the text)`
    : ''
}

function nearest(v: Scalar, names: readonly string[]): string {
  if (typeof v !== 'string') return ''
  const lower = v.toLowerCase()
  const hit = names.find((n) => n === lower || n.startsWith(lower.slice(0, 3)))
  return hit ? ` (did you mean "${hit}"?)` : ''
}

// ---------------------------------------------------------------------------------------
// The regular-expression subset

/** A parsed pattern of the subset, as written. */
export type RegexSyntax =
  | { t: 'empty' }
  /** One literal code point. */
  | { t: 'char'; cp: number }
  /** `.`: any code point, newlines included. */
  | { t: 'any' }
  /** A class, or a class escape (\d, \p{L}, …) standing alone. */
  | { t: 'set'; negated: boolean; items: SetItem[] }
  | { t: 'cat'; items: RegexSyntax[] }
  | { t: 'alt'; items: RegexSyntax[] }
  /** max: Infinity when unbounded. */
  | { t: 'repeat'; item: RegexSyntax; min: number; max: number }
  | { t: 'assert'; kind: 'start' | 'end' | 'word' | 'not-word' }

export type SetItem =
  | { t: 'range'; from: number; to: number }
  | { t: 'class'; name: 'd' | 'D' | 'w' | 'W' | 's' | 'S' }
  | { t: 'property'; negated: boolean; name: string }

/**
 * A pattern both engines run: every class (and, under (?i), every letter) resolved to the
 * explicit code points it matches, so neither engine consults its own Unicode tables.
 */
export type RegexNode =
  | { t: 'empty' }
  | { t: 'char'; cp: number }
  | { t: 'any' }
  /** Sorted, disjoint code point ranges, flattened: [from0, to0, from1, to1, …]. */
  | { t: 'class'; ranges: number[] }
  | { t: 'cat'; items: RegexNode[] }
  | { t: 'alt'; items: RegexNode[] }
  | { t: 'repeat'; item: RegexNode; min: number; max: number }
  | { t: 'assert'; kind: 'start' | 'end' | 'word' | 'not-word' }

export interface RegexProgram {
  caseInsensitive: boolean
  node: RegexNode
  /** The pattern as RE2 (ClickHouse `match`) takes it: normalized, with the (?s) flag. */
  re2: string
}

export type RegexParse = { ok: true; program: RegexProgram } | { ok: false; message: string }

export const MAX_REGEX_LENGTH = 1000
/** Atoms after expanding counted repeats ({3} of x is 3 x's; see expandedSize). */
export const MAX_REGEX_SIZE = 1000
const MAX_REPEAT = 1000

/** The Unicode general categories `\p{…}` takes (resolved from JavaScript's tables). */
const CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp Cc Cf Co'.split(
    ' ',
  ),
)

class RegexError extends Error {}

/** Parses a `matches` pattern of the subset, or says what is wrong with it. */
export function parseRegex(pattern: string): RegexParse {
  if (hasLoneSurrogate(pattern))
    return { ok: false, message: 'the pattern contains an unpaired UTF-16 surrogate' }
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!)
  if (cps.length > MAX_REGEX_LENGTH)
    return { ok: false, message: `the pattern is longer than ${MAX_REGEX_LENGTH} characters` }
  let i = 0
  let caseInsensitive = false
  const fail = (message: string, at = i): never => {
    throw new RegexError(`${message} (at character ${at + 1})`)
  }
  const peek = (offset = 0) => cps[i + offset]
  const is = (c: string, offset = 0) => cps[i + offset] === c.codePointAt(0)
  const startsWith = (text: string) => Array.from(text).every((c, k) => is(c, k))

  const parseAlternation = (): RegexSyntax => {
    const branches = [parseConcat()]
    while (is('|')) {
      i++
      branches.push(parseConcat())
    }
    return branches.length === 1 ? branches[0]! : { t: 'alt', items: branches }
  }

  const parseConcat = (): RegexSyntax => {
    const items: RegexSyntax[] = []
    while (i < cps.length && !is('|') && !is(')')) {
      items.push(parseQuantifiers(parseAtom()))
    }
    if (items.length === 0) return { t: 'empty' }
    return items.length === 1 ? items[0]! : { t: 'cat', items }
  }

  const parseQuantifiers = (atom: RegexSyntax): RegexSyntax => {
    let node = atom
    let quantified = false
    for (;;) {
      const q = peek()
      let min: number
      let max: number
      const at = i
      if (q === 0x2a /* * */) {
        min = 0
        max = Number.POSITIVE_INFINITY
        i++
      } else if (q === 0x2b /* + */) {
        min = 1
        max = Number.POSITIVE_INFINITY
        i++
      } else if (q === 0x3f /* ? */) {
        min = 0
        max = 1
        i++
      } else if (q === 0x7b /* { */) {
        const counted = parseCount()
        if (!counted) fail('a literal { must be escaped as \\{')
        ;[min, max] = counted!
      } else {
        return node
      }
      if (quantified)
        fail(
          'nothing to repeat: a quantifier cannot follow another (possessive quantifiers are not supported)',
          at,
        )
      if (node.t === 'assert') fail('nothing to repeat: an anchor or word boundary cannot be quantified', at)
      if (is('?')) i++ // lazy: same answer for "does it match"
      if (is('+')) fail('possessive quantifiers are not supported')
      node = { t: 'repeat', item: node, min, max }
      quantified = true
    }
  }

  // {n}, {n,}, {n,m}; undefined when the brace does not start a quantifier.
  const parseCount = (): [number, number] | undefined => {
    let j = i + 1
    const digits = (): string => {
      let s = ''
      while (j < cps.length && cps[j]! >= 0x30 && cps[j]! <= 0x39) s += String.fromCodePoint(cps[j++]!)
      return s
    }
    const n = digits()
    if (n === '') return undefined
    let m = n
    if (cps[j] === 0x2c /* , */) {
      j++
      m = digits()
    }
    if (cps[j] !== 0x7d /* } */) return undefined
    const min = Number(n)
    const max = m === '' ? Number.POSITIVE_INFINITY : Number(m)
    if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
      fail(`repeat counts above ${MAX_REPEAT} are not supported`)
    }
    if (min > max) fail(`{${n},${m}}: the minimum is above the maximum`)
    i = j + 1
    return [min, max]
  }

  const parseAtom = (): RegexSyntax => {
    const c = peek()!
    switch (c) {
      case 0x28 /* ( */:
        {
          const open = i
          i++
          if (is('?')) {
            if (is(':', 1)) i += 2
            else if (startsWith('?=') || startsWith('?!'))
              fail('lookahead (?=…) / (?!…) is not supported', open)
            else if (startsWith('?<=') || startsWith('?<!'))
              fail('lookbehind (?<=…) / (?<!…) is not supported', open)
            else if (startsWith('?<') || startsWith('?P<'))
              fail('named groups are not supported: use (…) or (?:…)', open)
            else
              fail('inline flags and group modifiers are not supported (only (?i) at the very start)', open)
          }
          const inner = parseAlternation()
          if (!is(')')) fail('unterminated group: a ( without its )', open)
          i++
          return inner
        }
      case 0x29 /* ) */:
        return fail('unmatched )')
      case 0x5b /* [ */:
        return parseClass()
      case 0x5d /* ] */:
        return fail('a literal ] must be escaped as \\]')
      case 0x7d /* } */:
        return fail('a literal } must be escaped as \\}')
      case 0x7b /* { */:
        return fail('a literal { must be escaped as \\{')
      case 0x2a:
      case 0x2b:
      case 0x3f:
        return fail('nothing to repeat')
      case 0x2e /* . */:
        i++
        return { t: 'any' }
      case 0x5e /* ^ */:
        i++
        return { t: 'assert', kind: 'start' }
      case 0x24 /* $ */:
        i++
        return { t: 'assert', kind: 'end' }
      case 0x5c /* \ */:
        return parseEscape(false)
      default:
        i++
        return { t: 'char', cp: c }
    }
  }

  // After a backslash; inside a class, \b and assertions are refused.
  const parseEscape = (inClass: boolean): RegexSyntax => {
    const start = i
    i++
    const c = peek()
    if (c === undefined) return fail('the pattern ends with a lone backslash', start)
    const ch = String.fromCodePoint(c)
    i++
    switch (ch) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
        return { t: 'set', negated: false, items: [{ t: 'class', name: ch }] }
      case 'b':
        if (inClass) fail('\\b inside a class is not supported', start)
        return { t: 'assert', kind: 'word' }
      case 'B':
        // RE2 tests \B between the bytes of a multi-byte UTF-8 character too.
        return fail('\\B is not supported (RE2 finds it inside multi-byte characters)', start)
      case 't':
        return { t: 'char', cp: 9 }
      case 'n':
        return { t: 'char', cp: 10 }
      case 'r':
        return { t: 'char', cp: 13 }
      case 'f':
        return { t: 'char', cp: 12 }
      case 'v':
        return { t: 'char', cp: 11 }
      case 'x': {
        const hex = hexDigits(2)
        if (hex === undefined) fail('\\x takes two hex digits (\\x41)', start)
        return { t: 'char', cp: hex! }
      }
      case 'u': {
        let cp: number | undefined
        if (is('{')) {
          let j = i + 1
          let text = ''
          while (j < cps.length && cps[j] !== 0x7d && text.length < 7) text += String.fromCodePoint(cps[j++]!)
          if (cps[j] !== 0x7d || !/^[0-9A-Fa-f]{1,6}$/.test(text))
            fail('\\u{…} takes 1 to 6 hex digits', start)
          cp = Number.parseInt(text, 16)
          i = j + 1
        } else {
          cp = hexDigits(4)
          if (cp === undefined) fail('\\u takes four hex digits (\\u00e9) or \\u{…}', start)
        }
        if (cp! > 0x10ffff) fail('\\u{…} is beyond U+10FFFF', start)
        if (cp! >= 0xd800 && cp! <= 0xdfff)
          fail('surrogate escapes are not supported: write the character, or \\u{1F600}', start)
        return { t: 'char', cp: cp! }
      }
      case 'p':
      case 'P': {
        let name = ''
        if (!is('{')) fail(`\\${ch} takes a category in braces, like \\${ch}{L}`, start)
        let j = i + 1
        while (j < cps.length && cps[j] !== 0x7d && name.length < 40) name += String.fromCodePoint(cps[j++]!)
        if (cps[j] !== 0x7d) fail(`unterminated \\${ch}{`, start)
        if (!CATEGORIES.has(name)) {
          fail(
            `\\${ch}{${name}} is not supported: use a general category (${[...CATEGORIES].join(' ')})`,
            start,
          )
        }
        i = j + 1
        return { t: 'set', negated: false, items: [{ t: 'property', negated: ch === 'P', name }] }
      }
      default:
        break
    }
    if (c < 0x80 && /[!-/:-@[-`{-~]/.test(ch)) return { t: 'char', cp: c }
    if (c >= 0x31 && c <= 0x39) return fail('backreferences (\\1) are not supported', start)
    if (ch === 'k') return fail('backreferences (\\k<name>) are not supported', start)
    if (ch === '0') return fail('\\0 is not supported: write \\x00', start)
    if (ch === 'A' || ch === 'z' || ch === 'Z') return fail(`\\${ch} is not supported: use ^ and $`, start)
    return fail(`\\${ch} is not a supported escape`, start)
  }

  const hexDigits = (count: number): number | undefined => {
    let text = ''
    for (let k = 0; k < count; k++) {
      const c = cps[i + k]
      if (c === undefined || !/[0-9A-Fa-f]/.test(String.fromCodePoint(c))) return undefined
      text += String.fromCodePoint(c)
    }
    i += count
    return Number.parseInt(text, 16)
  }

  const parseClass = (): RegexSyntax => {
    const open = i
    i++
    let negated = false
    if (is('^')) {
      negated = true
      i++
    }
    if (is(']'))
      fail(
        negated
          ? '[^] is not supported: write . for any character'
          : 'an empty class [] is not supported; a literal ] is written \\]',
      )
    const items: SetItem[] = []
    // One member: a code point, or a class item that cannot start a range.
    const member = (): number | SetItem => {
      const c = peek()
      if (c === undefined) return fail('unterminated class: a [ without its ]', open)
      if (c === 0x5b)
        return fail('a literal [ inside a class must be escaped as \\[ (POSIX classes are not supported)')
      if (c === 0x5c) {
        const node = parseEscape(true)
        if (node.t === 'char') return node.cp
        if (node.t === 'set') return node.items[0]!
        return fail('unsupported escape inside a class')
      }
      i++
      return c
    }
    while (!is(']')) {
      if (i >= cps.length) fail('unterminated class: a [ without its ]', open)
      const at = i
      const first = member()
      if (typeof first !== 'number') {
        if (is('-') && !is(']', 1)) fail('a class escape cannot start a range', at)
        items.push(first)
        continue
      }
      if (is('-') && !is(']', 1) && i + 1 < cps.length) {
        i++
        const second = member()
        if (typeof second !== 'number') fail('a class escape cannot end a range', at)
        if ((second as number) < first) fail('a range out of order (z-a)', at)
        items.push({ t: 'range', from: first, to: second as number })
      } else {
        items.push({ t: 'range', from: first, to: first })
      }
    }
    i++
    return { t: 'set', negated, items }
  }

  try {
    if (startsWith('(?i)')) {
      caseInsensitive = true
      i = 4
    }
    const syntax = parseAlternation()
    if (i < cps.length) fail('unmatched )')
    const node = lower(syntax, caseInsensitive)
    const size = expandedSize(node)
    if (size > MAX_REGEX_SIZE) {
      return {
        ok: false,
        message: `the pattern expands to ${size} atoms after repeats (at most ${MAX_REGEX_SIZE}): use smaller counts`,
      }
    }
    if (nestedCount(node) > MAX_REPEAT) {
      return { ok: false, message: `nested repeat counts multiply to more than ${MAX_REPEAT}` }
    }
    return { ok: true, program: { caseInsensitive, node, re2: `(?s)${re2Node(node)}` } }
  } catch (error) {
    if (error instanceof RegexError) return { ok: false, message: error.message }
    throw error
  }
}

/**
 * Atoms once counted repeats are written out (what the JS matcher's program holds); a
 * class of many ranges weighs more, as it compiles to more RE2 instructions (RE2 refuses
 * \p{L}{700} as too large a program).
 */
export function expandedSize(node: RegexNode): number {
  switch (node.t) {
    case 'char':
    case 'any':
      return 1
    case 'class':
      return 1 + Math.floor(node.ranges.length / 128)
    case 'empty':
    case 'assert':
      return 0
    case 'cat':
    case 'alt':
      return node.items.reduce((sum, n) => sum + expandedSize(n), 0)
    case 'repeat': {
      const copies = node.max === Number.POSITIVE_INFINITY ? Math.max(node.min, 1) : node.max
      return expandedSize(node.item) * copies
    }
  }
}

// RE2's own limit: the product of nested counted repeats (max, or min when unbounded).
function nestedCount(node: RegexNode): number {
  switch (node.t) {
    case 'cat':
    case 'alt':
      return Math.max(1, ...node.items.map(nestedCount))
    case 'repeat': {
      const count = node.max === Number.POSITIVE_INFINITY ? node.min : node.max
      return Math.max(count, 1) * nestedCount(node.item)
    }
    default:
      return 1
  }
}

// --- Lowering: classes and case-insensitive letters to explicit code points -------------

const MAX_CODE_POINT = 0x10ffff

/** Sorts and merges [from, to] pairs (overlapping or adjacent) into flattened ranges. */
function normalizeRanges(pairs: Array<[number, number]>): number[] {
  pairs.sort((a, b) => a[0] - b[0])
  const out: number[] = []
  for (const [from, to] of pairs) {
    const last = out.length - 1
    if (last > 0 && from <= out[last]! + 1) out[last] = Math.max(out[last]!, to)
    else out.push(from, to)
  }
  return out
}

/** The union of two range lists. */
export function unionRanges(a: readonly number[], b: readonly number[]): number[] {
  if (a.length === 0) return [...b]
  if (b.length === 0) return [...a]
  return normalizeRanges([...pairsOf(a), ...pairsOf(b)])
}

function pairsOf(ranges: readonly number[]): Array<[number, number]> {
  const pairs: Array<[number, number]> = []
  for (let k = 0; k < ranges.length; k += 2) pairs.push([ranges[k]!, ranges[k + 1]!])
  return pairs
}

/** Code points not in the ranges (surrogates excluded: no well-formed text holds them). */
function complement(ranges: readonly number[]): number[] {
  const pairs: Array<[number, number]> = []
  let next = 0
  for (let k = 0; k < ranges.length; k += 2) {
    if (ranges[k]! > next) pairs.push([next, ranges[k]! - 1])
    next = ranges[k + 1]! + 1
  }
  if (next <= MAX_CODE_POINT) pairs.push([next, MAX_CODE_POINT])
  return subtractSurrogates(pairs)
}

function subtractSurrogates(pairs: Array<[number, number]>): number[] {
  const out: Array<[number, number]> = []
  for (const [from, to] of pairs) {
    if (to < 0xd800 || from > 0xdfff) out.push([from, to])
    else {
      if (from < 0xd800) out.push([from, 0xd7ff])
      if (to > 0xdfff) out.push([0xe000, to])
    }
  }
  return normalizeRanges(out)
}

/** Whether a code point is in the ranges (binary search). */
export function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0
  let hi = ranges.length / 2 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (cp < ranges[mid * 2]!) hi = mid - 1
    else if (cp > ranges[mid * 2 + 1]!) lo = mid + 1
    else return true
  }
  return false
}

const CLASS_RANGES: Record<'d' | 'w' | 's', number[]> = {
  d: [0x30, 0x39],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  // RE2's \s: [\t\n\f\r ] (no \v, no Unicode spaces; JavaScript's own \s is wider).
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
}

const categoryCache = new Map<string, number[]>()

/** A general category's code points, by JavaScript's Unicode tables (scanned once, ~0.1 s). */
function categoryRanges(name: string): number[] {
  let ranges = categoryCache.get(name)
  if (!ranges) {
    const re = new RegExp(`^\\p{${name}}$`, 'u')
    const pairs: Array<[number, number]> = []
    let start = -1
    for (let cp = 0; cp <= MAX_CODE_POINT + 1; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue
      const member = cp <= MAX_CODE_POINT && re.test(String.fromCodePoint(cp))
      if (member && start < 0) start = cp
      if (!member && start >= 0) {
        pairs.push([start, cp - 1])
        start = -1
      }
    }
    ranges = subtractSurrogates(pairs)
    categoryCache.set(name, ranges)
  }
  return ranges
}

// Cased scripts all sit below U+20000.
const CASED_LIMIT = 0x1ffff
let caseOrbits: { byCodePoint: Map<number, number[]>; orbits: number[][] } | undefined

/**
 * The case orbits: the sets of characters that match each other case-insensitively, as
 * JavaScript's /iu does (Unicode simple case folding) — candidates are joined by their
 * one-character upper and lower case mappings, then each pair is confirmed by /iu itself.
 */
function orbits(): { byCodePoint: Map<number, number[]>; orbits: number[][] } {
  if (caseOrbits) return caseOrbits
  const parent = new Map<number, number>()
  const find = (x: number): number => {
    let root = x
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!
    parent.set(x, root)
    return root
  }
  const union = (a: number, b: number) => {
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb))
  }
  for (let cp = 0; cp <= CASED_LIMIT; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const c = String.fromCodePoint(cp)
    for (const mapped of [c.toUpperCase(), c.toLowerCase()]) {
      if (mapped === c) continue
      const m = mapped.codePointAt(0)!
      if (mapped.length === String.fromCodePoint(m).length) union(cp, m)
    }
  }
  const groups = new Map<number, number[]>()
  for (const cp of parent.keys()) {
    const root = find(cp)
    const group = groups.get(root)
    if (group) group.push(cp)
    else groups.set(root, [cp])
  }
  const byCodePoint = new Map<number, number[]>()
  const all: number[][] = []
  for (const group of groups.values()) {
    let rest = [...new Set(group)].sort((a, b) => a - b)
    while (rest.length > 0) {
      const first = rest[0]!
      const re = new RegExp(`^\\u{${first.toString(16)}}$`, 'iu')
      const orbit = rest.filter((cp) => re.test(String.fromCodePoint(cp)))
      rest = rest.filter((cp) => !orbit.includes(cp))
      if (orbit.length > 1) {
        all.push(orbit)
        for (const cp of orbit) byCodePoint.set(cp, orbit)
      }
    }
  }
  caseOrbits = { byCodePoint, orbits: all }
  return caseOrbits
}

/** The ranges with every character's case orbit added. */
function caseClosure(ranges: number[]): number[] {
  const pairs = pairsOf(ranges)
  for (const orbit of orbits().orbits) {
    if (orbit.some((cp) => inRanges(ranges, cp))) for (const cp of orbit) pairs.push([cp, cp])
  }
  return normalizeRanges(pairs)
}

function itemRanges(item: SetItem, caseInsensitive: boolean): number[] {
  // Case-insensitive: the orbits of what the positive class matches; a negated class
  // escape (\W, \P{L}) is the complement of that, as in both engines.
  const closed = (ranges: number[]) => (caseInsensitive ? caseClosure(ranges) : ranges)
  switch (item.t) {
    case 'range':
      return closed([item.from, item.to])
    case 'class': {
      const positive = closed(CLASS_RANGES[item.name.toLowerCase() as 'd' | 'w' | 's'])
      return item.name === item.name.toLowerCase() ? positive : complement(positive)
    }
    case 'property': {
      const positive = closed(categoryRanges(item.name))
      return item.negated ? complement(positive) : positive
    }
  }
}

/** Resolves classes, and under (?i) letters, to explicit code point ranges. */
function lower(node: RegexSyntax, caseInsensitive: boolean): RegexNode {
  switch (node.t) {
    case 'char': {
      if (!caseInsensitive) return node
      const orbit = orbits().byCodePoint.get(node.cp)
      return orbit ? { t: 'class', ranges: normalizeRanges(orbit.map((cp) => [cp, cp])) } : node
    }
    case 'set': {
      const union = normalizeRanges(node.items.flatMap((item) => pairsOf(itemRanges(item, caseInsensitive))))
      return { t: 'class', ranges: node.negated ? complement(union) : union }
    }
    case 'cat':
    case 'alt':
      return { t: node.t, items: node.items.map((item) => lower(item, caseInsensitive)) }
    case 'repeat':
      return { ...node, item: lower(node.item, caseInsensitive) }
    default:
      return node
  }
}

// --- RE2 source -------------------------------------------------------------------------

const hex = (cp: number) => `\\x{${cp.toString(16).toUpperCase()}}`
const isPlain = (cp: number) =>
  (cp >= 0x30 && cp <= 0x39) ||
  (cp >= 0x41 && cp <= 0x5a) ||
  (cp >= 0x61 && cp <= 0x7a) ||
  cp === 0x5f ||
  cp === 0x20

function re2Char(cp: number): string {
  return isPlain(cp) ? String.fromCodePoint(cp) : hex(cp)
}

function re2Class(ranges: readonly number[]): string {
  // No code point at all (a complement of everything): RE2 has no empty class.
  if (ranges.length === 0) return `[^\\x{0}-\\x{10FFFF}]`
  let body = ''
  for (let k = 0; k < ranges.length; k += 2) {
    const from = ranges[k]!
    const to = ranges[k + 1]!
    body += from === to ? re2Char(from) : `${re2Char(from)}-${re2Char(to)}`
  }
  return `[${body}]`
}

/** The RE2 source of a lowered node (normalized: every literal outside [A-Za-z0-9_ ] as \x{…}). */
function re2Node(node: RegexNode): string {
  switch (node.t) {
    case 'empty':
      return '(?:)'
    case 'char':
      return re2Char(node.cp)
    case 'any':
      return '.'
    case 'class':
      return re2Class(node.ranges)
    case 'cat':
      return node.items.map((n) => (n.t === 'alt' ? `(?:${re2Node(n)})` : re2Node(n))).join('')
    case 'alt':
      return node.items.map(re2Node).join('|')
    case 'repeat': {
      const inner = re2Node(node.item)
      const atom =
        node.item.t === 'char' || node.item.t === 'any' || node.item.t === 'class' ? inner : `(?:${inner})`
      const { min, max } = node
      const q =
        max === Number.POSITIVE_INFINITY
          ? min === 0
            ? '*'
            : min === 1
              ? '+'
              : `{${min},}`
          : min === 0 && max === 1
            ? '?'
            : min === max
              ? `{${min}}`
              : `{${min},${max}}`
      return atom + q
    }
    case 'assert':
      return node.kind === 'start' ? '^' : node.kind === 'end' ? '$' : node.kind === 'word' ? '\\b' : '\\B'
  }
}
