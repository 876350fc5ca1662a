import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import { closest } from './did-you-mean.ts'
import { predicateSchema } from './predicate.ts'
import { checkPredicate } from './predicate-check.ts'
import {
  type DatasetDeclarationInput,
  datasetDeclarationEntrySchema,
  type Rule,
  type RuleInput,
  ruleFileShellSchema,
  ruleSchema,
  toRule,
} from './rule-schema.ts'

/** One problem in a rule file, placed on the node it is about (line and column are 1-based). */
export interface RuleFileError {
  file: string
  line: number
  column: number
  /** Where in the document: `rules[0].when.all[1].gt`; '' for the document as a whole. */
  yamlPath: string
  message: string
}

/**
 * A dataset a rule file declares: `rules apply` creates it when missing. The
 * application and the exclusion are references (a UUID or a name) as written.
 */
export interface DatasetDeclaration {
  name: string
  application: string
  kind: 'eval' | 'training'
  /** The eval dataset a training dataset excludes, or null. */
  exclude: string | null
  /** Where the declaration is written: its file, the place its entry starts, its YAML path. */
  origin: { file: string; line: number; column: number; yamlPath: string }
}

/** A rule of a file and where its `id` is written (for duplicate ids across files). */
export interface ParsedRule {
  rule: Rule
  index: number
  idLine: number
  idColumn: number
}

/** `rules/a.yaml:12:7: rules[0].when.all[1].gt: <what is wrong>` (parts that are unknown are left out). */
export function formatRuleFileError(e: RuleFileError): string {
  const place = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file
  return e.yamlPath ? `${place}: ${e.yamlPath}: ${e.message}` : `${place}: ${e.message}`
}

/** `['rules', 0, 'when', 'all', 1, 'gt']` → `rules[0].when.all[1].gt`; keys that are not plain names are quoted. */
export function formatYamlPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else {
      const key = String(segment)
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`
      else out += `[${JSON.stringify(key)}]`
    }
  }
  return out
}

/**
 * Parses and validates one rule file (text in, no I/O). Every problem is reported, each
 * on the line and column of the YAML node it is about: YAML syntax, the schema (unknown
 * keys with a "did you mean", missing keys, wrong types and ranges), predicate type
 * errors (`checkPredicate`), bad redaction regexes and duplicate ids. `rules` holds the
 * rules that have no problem; a caller that wants all or nothing checks `errors`.
 */
export function parseRuleFile(
  file: string,
  text: string,
): { rules: Rule[]; datasets: DatasetDeclaration[]; errors: RuleFileError[] } {
  const { rules, datasets, errors } = parseRuleFileDetailed(file, text)
  return { rules: rules.map((r) => r.rule), datasets, errors }
}

/** parseRuleFile, keeping where each rule's id is written. */
export function parseRuleFileDetailed(
  file: string,
  text: string,
): { rules: ParsedRule[]; datasets: DatasetDeclaration[]; errors: RuleFileError[] } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset)
    return { line: Math.max(line, 1), column: Math.max(col, 1) }
  }
  const yamlProblems = [...doc.errors, ...doc.warnings]
  if (yamlProblems.length > 0) {
    return {
      rules: [],
      datasets: [],
      errors: sortErrors(
        yamlProblems.map((e) => ({
          file,
          ...at(e.pos[0]),
          yamlPath: formatYamlPath(pathAt(doc.contents, e.pos[0])),
          message: `YAML syntax: ${firstLine(e.message)}`,
        })),
      ),
    }
  }

  const value: unknown = doc.toJS({ maxAliasCount: 100 })
  const errors: RuleFileError[] = []
  const report = (problem: Problem) => {
    const place = locate(doc.contents, problem.path, problem.atKey === true)
    errors.push({ file, ...at(place), yamlPath: formatYamlPath(problem.path), message: problem.message })
  }

  if (value === null || value === undefined) {
    report({ path: [], message: 'the file is empty; a rule file is a mapping with a "rules:" list' })
    return { rules: [], datasets: [], errors }
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    report({ path: [], message: `a rule file is a mapping with a "rules:" list, got ${describe(value)}` })
    return { rules: [], datasets: [], errors }
  }
  const shell = ruleFileShellSchema.safeParse(value, { error: errorMap, reportInput: true })
  if (!shell.success) {
    for (const problem of problemsOf(shell.error.issues, [], value, keysIn(ruleFileShellSchema))) {
      report(problem)
    }
  }
  // An unknown key beside `rules:` does not stop the rules from being checked.
  const listed = (value as { rules?: unknown }).rules
  const entries: unknown[] = Array.isArray(listed) ? listed : []
  const parsed: ParsedRule[] = []
  const idLines = new Map<string, number>()
  entries.forEach((entry, index) => {
    const base = ['rules', index]
    let ok = true
    let result: ReturnType<typeof ruleSchema.safeParse> | undefined
    try {
      result = ruleSchema.safeParse(entry, { error: errorMap, reportInput: true })
      const schemaProblems = result.success
        ? []
        : problemsOf(result.error.issues, base, entry, keysIn(ruleSchema))
      for (const problem of schemaProblems) report(problem)
      // The predicate's type check runs whenever the predicate itself parsed, so a file's
      // problems all show at once, not one layer per run.
      const when = (entry as { when?: unknown } | null)?.when
      const whenParsed =
        when !== undefined && !schemaProblems.some((p) => p.path[2] === 'when')
          ? predicateSchema.safeParse(when)
          : undefined
      if (whenParsed?.success) {
        for (const issue of checkPredicate(whenParsed.data)) {
          report({ path: [...base, 'when', ...issue.path], message: issue.message })
          ok = false
        }
      }
      if (!result.success) ok = false
    } catch (error) {
      // a structure too deep to check (the stack ran out) is this rule's problem, not a crash
      ok = false
      report({ path: base, message: `cannot be checked: ${(error as Error).message}` })
    }
    const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined
    const idPlace = at(locate(doc.contents, [...base, 'id'], false))
    if (typeof id === 'string') {
      const first = idLines.get(id)
      if (first !== undefined) {
        ok = false
        report({ path: [...base, 'id'], message: `duplicate rule id "${id}": also defined at line ${first}` })
      } else {
        idLines.set(id, idPlace.line)
      }
    }
    if (ok && result?.success) {
      const origin = {
        file,
        line: at(locate(doc.contents, base, false)).line,
        yamlPath: formatYamlPath(base),
        application: at(locate(doc.contents, [...base, 'application'], false)),
        dataset: at(locate(doc.contents, [...base, 'dataset'], false)),
      }
      parsed.push({
        rule: toRule(result.data as RuleInput, origin),
        index,
        idLine: idPlace.line,
        idColumn: idPlace.column,
      })
    }
  })
  const datasets = parseDeclarations(value, (path) => at(locate(doc.contents, path, false)), report, file)
  return { rules: parsed, datasets, errors: sortErrors(errors) }
}

/**
 * The `datasets:` entries of a file, each checked on its own (a bad one does not hide
 * the others); a name declared twice for one application is reported on the second.
 */
function parseDeclarations(
  value: object,
  place: (path: PropertyKey[]) => { line: number; column: number },
  report: (problem: Problem) => void,
  file: string,
): DatasetDeclaration[] {
  const listed = (value as { datasets?: unknown }).datasets
  const entries: unknown[] = Array.isArray(listed) ? listed : []
  const out: DatasetDeclaration[] = []
  const seen = new Map<string, number>()
  entries.forEach((entry, index) => {
    const base = ['datasets', index]
    const result = datasetDeclarationEntrySchema.safeParse(entry, { error: errorMap, reportInput: true })
    if (!result.success) {
      for (const problem of problemsOf(
        result.error.issues,
        base,
        entry,
        keysIn(datasetDeclarationEntrySchema),
      ))
        report(problem)
      return
    }
    const d: DatasetDeclarationInput = result.data
    const origin = { file, ...place(base), yamlPath: formatYamlPath(base) }
    const key = `${d.application}\0${d.name}`
    const first = seen.get(key)
    if (first !== undefined) {
      report({
        path: [...base, 'name'],
        message: `dataset "${d.name}" of application "${d.application}" is already declared at line ${first}`,
      })
      return
    }
    seen.set(key, origin.line)
    out.push({ name: d.name, application: d.application, kind: d.kind, exclude: d.exclude ?? null, origin })
  })
  return out
}

function sortErrors(errors: RuleFileError[]): RuleFileError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column)
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim()
}

// ---------------------------------------------------------------------------------------
// Placing a path on the document

/**
 * The offset of the node a path names. A path that goes past what is written (a missing
 * key) is placed on the deepest node that exists, the mapping the key is missing from.
 * With `atKey`, the last segment is a key of a mapping and its key node is the place.
 */
function locate(root: unknown, path: readonly PropertyKey[], atKey: boolean): number {
  let node = root as Node | null | undefined
  let offset = node?.range?.[0] ?? 0
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) break
    const segment = path[i]!
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment))
      if (!pair) break
      const key = pair.key as Node | null
      if (atKey && i === path.length - 1) return key?.range?.[0] ?? offset
      const next = pair.value as Node | null
      // `key:` with no value: place on the key
      offset = next?.range?.[0] ?? key?.range?.[0] ?? offset
      node = next
    } else if (isSeq(node) && typeof segment === 'number') {
      const next = node.items[segment] as Node | null | undefined
      if (!next) break
      offset = next.range?.[0] ?? offset
      node = next
    } else {
      break
    }
  }
  return offset
}

/**
 * The path of the node at an offset, best effort, for a YAML syntax error: the deepest
 * node whose range holds the offset, else the last one before it (an error is often
 * reported just past the node it is about).
 */
function pathAt(root: unknown, offset: number): PropertyKey[] {
  const path: PropertyKey[] = []
  let node = root as Node | null | undefined
  for (let depth = 0; depth < 100; depth++) {
    let children: Array<{ segment: PropertyKey; node: Node | null; start: number }>
    if (isMap(node)) {
      children = node.items.map((pair) => {
        const key = pair.key as Node | null
        const value = pair.value as Node | null
        return {
          segment: isScalar(key) ? String(key.value) : '?',
          node: value,
          start: key?.range?.[0] ?? value?.range?.[0] ?? 0,
        }
      })
    } else if (isSeq(node)) {
      children = node.items.map((item, index) => {
        const child = item as Node | null
        return { segment: index, node: child, start: child?.range?.[0] ?? 0 }
      })
    } else {
      break
    }
    const before = children.filter((c) => c.start <= offset)
    const child = before[before.length - 1]
    if (!child) break
    path.push(child.segment)
    node = child.node
  }
  return path
}

// ---------------------------------------------------------------------------------------
// From zod issues to problems

interface Problem {
  path: PropertyKey[]
  message: string
  /** Place on the key node of the path's last segment (an unknown key). */
  atKey?: boolean
  /** For an unknown key: the known key it is probably a typo of. */
  suggestion?: string
  /** For a missing key: its name. */
  missing?: string
  /** A refinement of the mapping at `path` as a whole (which keys it holds together). */
  shapeCheck?: boolean
}

type KeysAt = (path: readonly PropertyKey[]) => string[]

/**
 * Problems of a parse: paths made absolute (`base` + the issue's), union failures
 * narrowed to the form the value was meant to be, unknown keys one by one with a
 * suggestion.
 */
function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  base: PropertyKey[],
  value: unknown,
  keysAt: KeysAt,
  relative: PropertyKey[] = [],
): Problem[] {
  const out: Problem[] = []
  for (const issue of issues) {
    const rel = [...relative, ...issue.path]
    const path = [...base, ...rel]
    const last = rel[rel.length - 1]
    if (issue.input === undefined && typeof last === 'string' && isMissing(value, rel)) {
      out.push({ path, message: `required key "${last}" is missing`, missing: last })
      continue
    }
    switch (issue.code) {
      case 'invalid_union': {
        if (issue.errors.length === 0) {
          out.push({ path, message: issue.message })
          break
        }
        out.push(...unionProblems(issue.errors, base, value, keysAt, rel))
        break
      }
      case 'unrecognized_keys': {
        const known = keysAt(rel)
        // A schema's own message for its one unknown key (the predicate's lists its forms)
        // is kept when there is no likely typo to point at.
        const own =
          issue.keys.length === 1 && issue.message !== unknownKeysMessage(issue.keys)
            ? issue.message
            : undefined
        for (const key of issue.keys) {
          const suggestion = closest(key, known)
          out.push({
            path: [...path, key],
            atKey: true,
            message: suggestion || !own ? unknownKeyMessage(key, suggestion, known) : own,
            ...(suggestion ? { suggestion } : {}),
          })
        }
        break
      }
      case 'invalid_key': {
        out.push({ path, message: `key: ${issue.issues.map((i) => i.message).join('; ')}` })
        break
      }
      default:
        out.push({ path, message: issue.message, ...(issue.code === 'custom' ? { shapeCheck: true } : {}) })
    }
  }
  // `feld:` for `field:` is one mistake, not an unknown key and a missing one.
  // The missing key, or the mapping's shape check failing for want of it, is the same
  // mistake: only the typo is reported.
  const typos = out.filter((p) => p.suggestion)
  const misspelled = new Set(typos.map((p) => formatYamlPath([...p.path.slice(0, -1), p.suggestion!])))
  const withTypos = new Set(typos.map((p) => formatYamlPath(p.path.slice(0, -1))))
  return dedupe(
    out.filter(
      (p) =>
        !(p.missing && misspelled.has(formatYamlPath(p.path))) &&
        !(p.shapeCheck && withTypos.has(formatYamlPath(p.path))),
    ),
  )
}

/** True when the path's last key is absent from the mapping it would be in. */
function isMissing(value: unknown, rel: readonly PropertyKey[]): boolean {
  const parent = valueAt(value, rel.slice(0, -1))
  return (
    typeof parent === 'object' &&
    parent !== null &&
    !Array.isArray(parent) &&
    !Object.hasOwn(parent, rel[rel.length - 1]!)
  )
}

/**
 * A value fails a union when it fails every form. The form it was meant to be is the one
 * it fails least at its top (fewest unknown and missing keys, right type); its problems
 * are reported. When forms tie, what they agree on is reported: the unknown keys, or
 * which keys would make it one of them.
 */
function unionProblems(
  branches: readonly (readonly z.core.$ZodIssue[])[],
  base: PropertyKey[],
  value: unknown,
  keysAt: KeysAt,
  rel: PropertyKey[],
): Problem[] {
  const here = valueAt(value, rel)
  const scored = branches.map((issues) => ({ issues, score: topLevelMismatch(issues, here) }))
  const best = Math.min(...scored.map((s) => s.score))
  const tied = scored.filter((s) => s.score === best)
  if (tied.length === 1) return problemsOf(tied[0]!.issues, base, value, keysAt, rel)

  const problemSets = tied.map((t) => problemsOf(t.issues, base, value, keysAt, rel))
  const path = [...base, ...rel]
  // Problems every tied form has (the same unknown key, say) are real whatever was meant.
  const shared = problemSets[0]!.filter((p) =>
    problemSets.every((set) => set.some((q) => samePath(q.path, p.path) && q.message === p.message)),
  )
  const unknownKeys = shared.filter((p) => p.atKey)
  if (unknownKeys.length > 0) return unknownKeys
  if (shared.length > 0 && !(typeof here === 'object' && here !== null && !Array.isArray(here))) return shared
  // An object meant as one of several forms: name the keys each form needs.
  const needed = new Set<string>()
  for (const set of problemSets) {
    for (const p of set) if (p.missing && p.path.length === path.length + 1) needed.add(p.missing)
  }
  if (needed.size > 0) {
    const list = [...needed].map((k) => `"${k}"`).join(', ')
    return [{ path, message: `matches none of its forms: it needs one of the keys ${list}` }]
  }
  return shared.length > 0 ? shared : problemSets[0]!
}

/** How far a union branch is from the value's top level: wrong type, unknown keys, missing keys. */
function topLevelMismatch(issues: readonly z.core.$ZodIssue[], value: unknown): number {
  let score = 0
  for (const issue of issues) {
    if (issue.path.length === 0 && issue.code === 'invalid_type') score += 1000
    else if (issue.path.length === 0 && issue.code === 'unrecognized_keys') score += 10 * issue.keys.length
    else if (issue.path.length === 1 && issue.input === undefined) {
      const key = issue.path[0]
      const present = typeof value === 'object' && value !== null && Object.hasOwn(value, key as string)
      score += present ? 1 : 10
    } else if (issue.path.length === 0 && issue.code === 'invalid_union') score += 100
    else score += 1
  }
  return score
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i])
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${formatYamlPath(p.path)}\0${p.atKey ? 'k' : ''}\0${p.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return current
}

function unknownKeyMessage(key: string, suggestion: string | undefined, known: readonly string[]): string {
  if (suggestion) return `unknown key "${key}" (did you mean "${suggestion}"?)`
  if (known.length > 0 && known.length <= 16)
    return `unknown key "${key}"; expected one of: ${known.join(', ')}`
  return `unknown key "${key}"`
}

// ---------------------------------------------------------------------------------------
// Messages, in the words of YAML

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  null: 'an empty value',
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value'
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`
  }
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${value}`
  if (typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Date) return 'a date'
  return 'a mapping'
}

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function unknownKeysMessage(keys: readonly string[]): string {
  return `unknown key${keys.length === 1 ? '' : 's'} ${keys.map((k) => `"${k}"`).join(', ')}`
}

/** Zod's issues in YAML's words. Messages a schema sets itself (refinements, the id pattern) win over these. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  const got = describe(issue.input)
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got}`
    case 'too_small': {
      const min = issue.minimum
      if (issue.origin === 'array' || issue.origin === 'set') {
        return `must have at least ${min} item${Number(min) === 1 ? '' : 's'}`
      }
      if (issue.origin === 'string') {
        return Number(min) === 1 ? 'must not be empty' : `must be at least ${min} characters`
      }
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${min}, got ${quote(issue.input)}`
    }
    case 'too_big': {
      const max = issue.maximum
      if (issue.origin === 'array' || issue.origin === 'set') {
        return `must have at most ${max} item${Number(max) === 1 ? '' : 's'}`
      }
      if (issue.origin === 'string') return `must be at most ${max} characters`
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${max}, got ${quote(issue.input)}`
    }
    case 'invalid_format':
      if (issue.format === 'uuid' || issue.format === 'guid') {
        return `must be a UUID (like 0b9d2c1e-5f3a-4c1e-9a7b-2d4e6f8a0b1c), got ${got}`
      }
      if (issue.format === 'regex') return `must match ${issue.pattern}, got ${got}`
      return `must be a valid ${issue.format}, got ${got}`
    case 'invalid_value': {
      const values = issue.values
      if (values.length === 1) return `must be ${quote(values[0])}, got ${got}`
      const suggestion =
        typeof issue.input === 'string'
          ? closest(
              issue.input,
              values.filter((v): v is string => typeof v === 'string'),
            )
          : undefined
      const hint = suggestion ? ` (did you mean "${suggestion}"?)` : ''
      return `unknown value ${quote(issue.input)}${hint}; expected one of: ${values.map((v) => String(v)).join(', ')}`
    }
    case 'unrecognized_keys':
      return unknownKeysMessage(issue.keys)
    case 'invalid_union':
      return `matches none of its forms, got ${got}`
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------
// The keys a schema knows at a path, for "did you mean"

interface SchemaLike {
  _zod: { def: SchemaDef }
}
interface SchemaDef {
  type: string
  innerType?: SchemaLike
  in?: SchemaLike
  getter?: () => SchemaLike
  options?: readonly SchemaLike[]
  left?: SchemaLike
  right?: SchemaLike
  shape?: Record<string, SchemaLike>
  element?: SchemaLike
  valueType?: SchemaLike
}

function keysIn(schema: unknown): KeysAt {
  return (path) => {
    const keys = new Set<string>()
    const visit = (s: SchemaLike, rest: readonly PropertyKey[], depth: number): void => {
      if (depth > 64) return
      const def = s._zod.def
      switch (def.type) {
        case 'optional':
        case 'nullable':
        case 'default':
        case 'prefault':
        case 'readonly':
        case 'catch':
        case 'nonoptional':
          if (def.innerType) visit(def.innerType, rest, depth + 1)
          return
        case 'pipe':
          if (def.in) visit(def.in, rest, depth + 1)
          return
        case 'lazy':
          if (def.getter) visit(def.getter(), rest, depth + 1)
          return
        case 'union':
          for (const option of def.options ?? []) visit(option, rest, depth + 1)
          return
        case 'intersection':
          if (def.left) visit(def.left, rest, depth + 1)
          if (def.right) visit(def.right, rest, depth + 1)
          return
        case 'object': {
          const shape = def.shape ?? {}
          if (rest.length === 0) {
            for (const key of Object.keys(shape)) keys.add(key)
            return
          }
          const child = shape[String(rest[0])]
          if (child) visit(child, rest.slice(1), depth + 1)
          return
        }
        case 'array':
          if (rest.length > 0 && def.element) visit(def.element, rest.slice(1), depth + 1)
          return
        case 'record':
          if (rest.length > 0 && def.valueType) visit(def.valueType, rest.slice(1), depth + 1)
          return
        default:
          return
      }
    }
    visit(schema as SchemaLike, path, 0)
    return [...keys]
  }
}
