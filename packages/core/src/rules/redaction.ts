import type { DatasetValue, MappedRow, RowBucket } from '../datasets/dataset-model.ts'
import { isMediaReference } from '../datasets/values.ts'
import { isExactInteger } from '../exact-integer.ts'

/** The built-in detectors a rule can name in `redact.detectors`. Closed set. */
export const REDACTION_DETECTORS = ['email', 'phone', 'credit_card', 'api_key', 'jwt', 'ip_address'] as const
export type RedactionDetector = (typeof REDACTION_DETECTORS)[number]

/** A rule's own pattern: matches of `regex` become `[REDACTED:<name>]`. */
export interface RedactionPattern {
  name: string
  /** JavaScript regular expression source, compiled with the `u` flag. */
  regex: string
}

/** What a rule redacts from the rows it appends. Plain data; compiled once per config. */
export interface RedactionConfig {
  detectors: readonly RedactionDetector[]
  patterns: readonly RedactionPattern[]
}

/** No redaction. */
export const NO_REDACTION: RedactionConfig = Object.freeze({ detectors: [], patterns: [] })

/** Flags every custom pattern is compiled with (`g` is added for replacing). */
export const CUSTOM_PATTERN_FLAGS = 'u'

interface Detector {
  /** A cheap test a text must pass before the regex runs at all. */
  mayContain?: (text: string) => boolean
  regex: RegExp
  /** Confirms a regex match (checksum, digit count…); a refused match is kept as it is. */
  accept?: (match: string) => boolean
}

// Every regex starts at a boundary (a lookbehind refusing the characters the match is
// made of), so a long run of look-alike characters is tried from its first position only,
// and every repetition is bounded or unambiguous: matching is linear in the text.
const DETECTORS: Record<RedactionDetector, Detector> = {
  jwt: {
    mayContain: (t) => t.includes('eyJ'),
    // header.payload.signature (JWS; the signature may be empty) or the five parts of a JWE
    regex: /(?<![\w-])eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*(?:\.[\w-]*){0,2}/g,
  },
  api_key: {
    regex: new RegExp(
      [
        // OpenAI (sk-…, sk-proj-…), Anthropic (sk-ant-…): random tokens, so at least one digit
        String.raw`(?<![\w-])sk-(?=[\w-]{0,200}\d)[\w-]{20,}`,
        // AWS access key ids
        '(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])',
        // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens
        String.raw`(?<![\w-])gh[pousr]_[A-Za-z0-9]{36,}`,
        String.raw`(?<![\w-])github_pat_\w{22,}`,
        // Google API keys
        String.raw`(?<![\w-])AIza[\w-]{35}(?![\w-])`,
        // Slack tokens
        String.raw`(?<![\w-])xox[abposre]-[A-Za-z0-9-]{10,}`,
        // Stripe secret and restricted keys
        String.raw`(?<![\w-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}`,
        // `Bearer <token>`: the token only, so the text still reads as a header
        String.raw`(?<=\b[Bb]earer[ \t]{1,8})(?=[\w.~+/-]{0,200}\d)[\w.~+/-]{16,}=*`,
      ].join('|'),
      'g',
    ),
  },
  email: {
    mayContain: (t) => t.includes('@'),
    regex: /(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])/g,
  },
  credit_card: {
    // 13–19 digits in one run, or grouped 4-4-4-4 (most cards) or 4-6-5 / 4-6-4 (Amex, Diners)
    regex:
      /(?<![\w-])(?:[2-6]\d{12,18}|[2-6]\d{3}([ -])\d{4}\1\d{4}\1\d{4}|3\d{3}([ -])\d{6}\2\d{4,5})(?![\w-])/g,
    accept: (match) => luhnValid(match.replace(/[ -]/g, '')),
  },
  ip_address: {
    mayContain: (t) => t.includes('.') || t.includes(':'),
    regex: new RegExp(
      [
        String.raw`(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)`,
        // an IPv6 candidate (hex and colons, maybe an IPv4 tail), confirmed by isIpv6
        String.raw`(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)`,
      ].join('|'),
      'g',
    ),
    accept: (match) => !match.includes(':') || isIpv6(match),
  },
  phone: {
    // International (+…) numbers, and North American ones with separators. A bare run of
    // digits is not taken for a phone number: ids, timestamps and counts look the same.
    regex: new RegExp(
      [
        String.raw`\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]\d{1,5}){1,6}`,
        String.raw`\+\d{7,15}`,
        String.raw`\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}`,
        String.raw`\d{3}([ .-])\d{3}\1\d{4}`,
      ]
        .map((alternative) => String.raw`(?<![\w+.-])(?:${alternative})(?![\w-]|\.\d)`)
        .join('|'),
      'g',
    ),
    accept: (match) => {
      const digits = match.replace(/\D/g, '').length
      return digits >= 7 && digits <= 15
    },
  },
}

/** The order detectors run in: the most specific first, so a JWT is not half taken for an API key. */
const DETECTOR_ORDER: readonly RedactionDetector[] = [
  'jwt',
  'api_key',
  'email',
  'credit_card',
  'ip_address',
  'phone',
]

/** The Luhn checksum of a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (d < 0 || d > 9) return false
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/
const IPV4_TAIL = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** True for an IPv6 address (RFC 4291 text forms, an IPv4 tail included); `::` alone is not taken. */
export function isIpv6(text: string): boolean {
  let body = text
  let tailGroups = 0
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    if (!IPV4_TAIL.test(tail)) return false
    body = text.slice(0, lastColon + 1)
    // `::1.2.3.4` keeps its `::`; `a:…:1.2.3.4` loses the colon before the tail
    if (!body.endsWith('::')) body = body.slice(0, -1)
    tailGroups = 2
  }
  const halves = body.split('::')
  if (halves.length > 2) return false
  const groups = (half: string) => (half === '' ? [] : half.split(':'))
  const left = groups(halves[0]!)
  const right = halves.length === 2 ? groups(halves[1]!) : []
  if (![...left, ...right].every((g) => HEX_GROUP.test(g))) return false
  const count = left.length + right.length + tailGroups
  return halves.length === 2 ? count >= 1 && count <= 7 : count === 8
}

interface CompiledPattern {
  label: string
  regex: RegExp
  mayContain?: ((text: string) => boolean) | undefined
  accept?: ((match: string) => boolean) | undefined
}

/** Redacts one text; returns it unchanged (the same string) when nothing matched. */
type TextRedactor = (text: string) => string

/** A redactor for a config: `(row) => { row, redactedFields }`. Compile once, use for every row. */
export type RowRedactor = (row: MappedRow) => { row: MappedRow; redactedFields: string[] }

/** Compiles a config into a row redactor. Throws on a pattern that is not a valid regex (rule loading refuses those first). */
export function createRedactor(config: RedactionConfig): RowRedactor {
  const compiled: CompiledPattern[] = [
    ...config.patterns.map((p) => ({
      label: `[REDACTED:${p.name}]`,
      regex: new RegExp(p.regex, `g${CUSTOM_PATTERN_FLAGS}`),
    })),
    ...DETECTOR_ORDER.filter((name) => config.detectors.includes(name)).map((name) => {
      const d = DETECTORS[name]
      return { label: `[REDACTED:${name}]`, regex: d.regex, mayContain: d.mayContain, accept: d.accept }
    }),
  ]
  if (compiled.length === 0) return (row) => ({ row, redactedFields: [] })
  const redactText = textRedactor(compiled)
  return (row) => {
    const redactedFields: string[] = []
    const out: MappedRow = { inputs: {}, expected_outputs: {}, metadata: {}, extras: {} }
    for (const bucket of ['inputs', 'expected_outputs', 'metadata', 'extras'] as const) {
      const source: RowBucket = row[bucket]
      const target: RowBucket = out[bucket]
      for (const [key, value] of Object.entries(source)) {
        const redacted = redactValue(value, redactText)
        if (redacted !== value) redactedFields.push(`${bucket}.${key}`)
        target[key] = redacted
      }
    }
    return redactedFields.length === 0 ? { row, redactedFields } : { row: out, redactedFields }
  }
}

const cache = new WeakMap<RedactionConfig, RowRedactor>()

/**
 * Replaces what the config's detectors and patterns find with `[REDACTED:<name>]`, in
 * every text of the row: plain strings, strings at any depth of structures and of JSON
 * text, and media references that are not data URIs. Numbers
 * and booleans are left alone. `redactedFields` names the fields that changed
 * (`inputs.question`); the row is returned as it is when nothing did. The compiled form
 * of each config object is cached.
 */
export function redactRow(
  row: MappedRow,
  config: RedactionConfig,
): { row: MappedRow; redactedFields: string[] } {
  let redactor = cache.get(config)
  if (!redactor) {
    redactor = createRedactor(config)
    cache.set(config, redactor)
  }
  return redactor(row)
}

function redactValue(value: DatasetValue, redactText: TextRedactor): DatasetValue {
  if (typeof value === 'string') return redactJsonOrText(value, redactText, 0)
  if (isMediaReference(value)) {
    if (value.ref.startsWith('data:')) return value
    const ref = redactText(value.ref)
    return ref === value.ref ? value : { ...value, ref }
  }
  if (typeof value === 'object' && value !== null) return redactStructure(value, redactText) as DatasetValue
  return value
}

/** Every string of a structure (JSON text in it included), the same object when nothing changed. */
function redactStructure(node: unknown, redactText: TextRedactor): unknown {
  if (typeof node === 'string') return redactJsonOrText(node, redactText, 1)
  // An integer past 2^53 is a number, not text: like every number, it is not redacted.
  if (isExactInteger(node)) return node
  if (Array.isArray(node)) {
    const out = node.map((v) => redactStructure(v, redactText))
    return out.some((v, i) => v !== node[i]) ? out : node
  }
  if (typeof node === 'object' && node !== null) {
    let changed = false
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      out[k] = redactStructure(v, redactText)
      if (out[k] !== v) changed = true
    }
    return changed ? out : node
  }
  return node
}

/** Nested JSON text (JSON in a string in JSON) is looked into this deep. */
const MAX_JSON_DEPTH = 3

function redactJsonOrText(text: string, redactText: TextRedactor, depth: number): string {
  const first = text.trimStart()[0]
  if ((first === '{' || first === '[') && depth < MAX_JSON_DEPTH) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return redactText(text)
    }
    let changed = false
    const walk = (node: unknown): unknown => {
      if (typeof node === 'string') {
        const redacted = redactJsonOrText(node, redactText, depth + 1)
        if (redacted !== node) changed = true
        return redacted
      }
      if (Array.isArray(node)) return node.map(walk)
      if (typeof node === 'object' && node !== null) {
        const out: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(node)) out[k] = walk(v)
        return out
      }
      return node
    }
    const redacted = walk(parsed)
    // Re-serialized only when something changed, so an untouched value keeps its spelling.
    return changed ? JSON.stringify(redacted) : text
  }
  return redactText(text)
}

function textRedactor(patterns: readonly CompiledPattern[]): TextRedactor {
  return (text) => {
    let current = text
    for (const p of patterns) {
      if (p.mayContain && !p.mayContain(current)) continue
      const accept = p.accept
      // A zero-length match (a custom pattern like `x*`) would insert labels between characters.
      current = current.replace(p.regex, (match: string) =>
        match === '' || (accept && !accept(match)) ? match : p.label,
      )
    }
    return current === text ? text : current
  }
}
