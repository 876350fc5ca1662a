import { z } from 'zod'
import type { AppendDefaults } from '../datasets/append-candidate.ts'
import type { DatasetMapping } from '../datasets/mapping.ts'
import { type Predicate, predicateSchema } from './predicate.ts'
import {
  CUSTOM_PATTERN_FLAGS,
  REDACTION_DETECTORS,
  type RedactionConfig,
  type RedactionDetector,
} from './redaction.ts'

/**
 * A rule as spansift runs it: which spans of an application it picks (`when`, sampling,
 * errors), how it maps each into a row of its dataset, what it redacts, and the
 * annotations a new row starts with. Built from a rule file by rule-file.ts.
 */
export interface Rule {
  id: string
  description: string
  /** The application and dataset as the file names them: each a UUID or a name. */
  target: RuleTarget
  /**
   * The resolved ids: set at parse time when the file wrote UUIDs, else '' until
   * resolveRuleTarget (rule-targets.ts) has looked the names up.
   */
  applicationId: string
  datasetId: string
  enabled: boolean
  /** null: every span of the application. */
  when: Predicate | null
  /** 0 < sample ≤ 1; whole traces are kept or skipped (deterministic by trace id). */
  sample: number
  /** Whether spans with status ERROR may qualify. */
  includeErrors: boolean
  mapping: DatasetMapping
  defaults: AppendDefaults
  redaction: RedactionConfig
  /** Where the rule is written: its file and the line its entry starts on. */
  origin: RuleOrigin
}

/** A rule id: unique across all rule files, and the `rule_id` of the rows it appends. */
export const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/

const PATTERN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Custom redaction patterns longer than this are refused (they run on every appended row). */
const MAX_PATTERN_LENGTH = 1000

/** A place in a rule file (1-based). */
export interface FilePlace {
  line: number
  column: number
}

/**
 * Where a rule is written: its file, the line its entry starts on, its YAML path
 * (`rules[2]`), and where its `application` and `dataset` values are (so a name that
 * resolves to nothing is reported on its own line).
 */
export interface RuleOrigin {
  file: string
  line: number
  yamlPath: string
  application: FilePlace
  dataset: FilePlace
}

/** What a rule file names an application or dataset by: its UUID, or its name. */
export interface RuleTarget {
  application: string
  dataset: string
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True when a reference is written as a UUID (an id), false when it is a name. */
export function isUuidRef(ref: string): boolean {
  return UUID_PATTERN.test(ref)
}

const ref = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(200)
    .meta({
      description: `The ${what}: its name, or its id (a UUID, as the API shows it).`,
    })

const datasetDeclarationSchema = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((name) => !isUuidRef(name), { message: 'a dataset name must not look like a UUID' })
      .meta({ description: 'Unique within its application.' }),
    application: ref('application it belongs to'),
    kind: z.enum(['eval', 'training']),
    exclude: ref('eval dataset (same application) a training dataset must never share a row with').optional(),
  })
  .refine((d) => d.exclude === undefined || d.kind === 'training', {
    message: 'only a training dataset excludes an eval dataset',
    path: ['exclude'],
  })
  .meta({
    description:
      'A dataset this file relies on. `spansift rules apply` creates it when missing; a stored dataset of that name with another kind or exclusion is an error, never changed.',
  })

/** A dataset a rule file declares, as written. */
export type DatasetDeclarationInput = z.output<typeof datasetDeclarationSchema>

const fieldMapping = z
  .record(z.string().min(1).max(200), z.string().min(1).max(500))
  .refine((fields) => Object.keys(fields).length <= 100, { message: 'at most 100 fields per bucket' })
  .meta({ description: '{field_key: attribute_path}' })

const mappingSchema = z
  .strictObject({
    inputs: fieldMapping.optional(),
    expected_outputs: fieldMapping.optional(),
    metadata: fieldMapping.optional(),
    extras: fieldMapping.optional(),
  })
  .refine((m) => Object.values(m).some((fields) => fields && Object.keys(fields).length > 0), {
    message: 'maps no field: name at least one under inputs, expected_outputs, metadata or extras',
  })
  .meta({
    description:
      'Buckets of {field_key: attribute_path}, the path language of the from-spans endpoint: a built-in (trace.id, span.name, span.duration_ns, span.status, …), else a span attribute key, else a resource attribute key; `attributes.`/`resource.` force one source; a path may walk into structured values (gen_ai.prompt.0.content). A path resolving to nothing leaves the field out.',
  })

const defaultsSchema = z
  .strictObject({
    priority: z.enum(['high', 'medium', 'low']).optional(),
    feedback_category: z.string().min(1).max(200).optional(),
    labels: z.array(z.string().min(1).max(100)).max(50).optional(),
  })
  .meta({ description: 'Annotation values every row this rule appends starts with.' })

const patternSchema = z
  .strictObject({
    name: z.string().regex(PATTERN_NAME, {
      error: (issue) =>
        `must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(issue.input)}`,
    }),
    regex: z
      .string()
      .min(1)
      .max(MAX_PATTERN_LENGTH)
      .superRefine((source, ctx) => {
        const problem = regexProblem(source)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      })
      .meta({
        description:
          'A JavaScript regular expression (compiled with the u flag; (?i:…) for case-insensitive parts). Matches become [REDACTED:<name>].',
      }),
  })
  .meta({ description: 'A custom redaction pattern.' })

const redactSchema = z
  .strictObject({
    detectors: z
      .array(z.enum([...REDACTION_DETECTORS, 'all']))
      .optional()
      .meta({ description: 'Built-in detectors to run, or [all].' }),
    patterns: z.array(patternSchema).max(50).optional(),
  })
  .meta({
    description: 'What to redact from the mapped row before it is appended. Nothing is redacted by default.',
  })

/** One rule, as written in a rule file. */
export const ruleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(RULE_ID_PATTERN, {
        error: (issue) =>
          `must be 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(issue.input)}`,
      })
      .meta({ description: 'Unique across all rule files; recorded on every row the rule appends.' }),
    description: z.string().max(1000).optional(),
    application: ref('application whose spans the rule reads'),
    dataset: ref('target dataset (of the same application)'),
    enabled: z.boolean().default(true),
    when: predicateSchema
      .optional()
      .meta({ description: 'The condition a span must meet; absent = every span of the application.' }),
    sample: z
      .number()
      .gt(0)
      .lte(1)
      .default(1)
      .meta({ description: 'Share of traces kept, 0 < rate ≤ 1 (deterministic by trace id).' }),
    include_errors: z
      .boolean()
      .default(false)
      .meta({ description: 'Whether spans with status ERROR may qualify.' }),
    mapping: mappingSchema,
    defaults: defaultsSchema.optional(),
    redact: redactSchema.optional(),
  })
  .meta({ description: 'A rule: which spans of an application to append, mapped, to which dataset.' })

/** A rule file: one or more rules, and the datasets they rely on. */
export const ruleFileSchema = z
  .strictObject({
    datasets: z.array(datasetDeclarationSchema).max(1000).optional().meta({
      description: 'Datasets created by `spansift rules apply` when missing; nothing is ever deleted.',
    }),
    rules: z.array(ruleSchema).min(1, { error: 'must list at least one rule' }),
  })
  .meta({
    title: 'spansift rule file',
    description: 'Rules that append matching spans, mapped into rows, to datasets.',
  })

/** The outer shape alone, checked before each rule is checked on its own. */
export const ruleFileShellSchema = z.strictObject({
  datasets: z.array(z.unknown()).max(1000).optional(),
  rules: z.array(z.unknown()).min(1, { error: 'must list at least one rule' }),
})

/** One declared dataset entry, checked on its own like a rule. */
export const datasetDeclarationEntrySchema = datasetDeclarationSchema

export type RuleInput = z.output<typeof ruleSchema>

/** The domain rule of a validated rule entry. */
export function toRule(input: RuleInput, origin: Rule['origin']): Rule {
  const detectors = input.redact?.detectors ?? []
  const expanded: RedactionDetector[] = detectors.includes('all')
    ? [...REDACTION_DETECTORS]
    : [...new Set(detectors as RedactionDetector[])]
  const mapping: DatasetMapping = {}
  for (const bucket of ['inputs', 'expected_outputs', 'metadata', 'extras'] as const) {
    const fields = input.mapping[bucket]
    if (fields && Object.keys(fields).length > 0) mapping[bucket] = { ...fields }
  }
  return {
    id: input.id,
    description: input.description ?? '',
    target: { application: input.application, dataset: input.dataset },
    // Span application ids are lowercase; a rule written in capitals still matches them.
    // A name is resolved to an id later (rule-targets.ts): '' until then.
    applicationId: isUuidRef(input.application) ? input.application.toLowerCase() : '',
    datasetId: isUuidRef(input.dataset) ? input.dataset.toLowerCase() : '',
    enabled: input.enabled,
    when: input.when ?? null,
    sample: input.sample,
    includeErrors: input.include_errors,
    mapping,
    defaults: {
      priority: input.defaults?.priority ?? null,
      feedbackCategory: input.defaults?.feedback_category ?? null,
      labels: [...(input.defaults?.labels ?? [])],
    },
    redaction: {
      detectors: expanded,
      patterns: (input.redact?.patterns ?? []).map((p) => ({ name: p.name, regex: p.regex })),
    },
    origin,
  }
}

/**
 * What is wrong with a custom redaction pattern, or undefined: it must compile, must not
 * match the empty string, and must not nest unbounded quantifiers (`(a+)+`), the shape
 * that backtracks catastrophically on some inputs. Bound the outer one (`(a+){1,10}`).
 */
export function regexProblem(source: string): string | undefined {
  let regex: RegExp
  try {
    regex = new RegExp(source, CUSTOM_PATTERN_FLAGS)
  } catch (error) {
    // "Invalid regular expression: /x(/u: Unterminated group" → "Unterminated group"
    const message = error instanceof Error ? error.message : String(error)
    return `not a valid regular expression: ${message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`
  }
  if (regex.test('')) return 'matches the empty string; a pattern must match at least one character'
  if (nestsUnboundedQuantifiers(source)) {
    return 'nests unbounded quantifiers (like (a+)+), which can backtrack catastrophically; bound the outer one, e.g. {1,10}'
  }
  return undefined
}

/** True when a group repeated by `*`, `+` or `{n,}` itself contains `*`, `+` or `{n,}`. */
export function nestsUnboundedQuantifiers(source: string): boolean {
  // For each open group: whether it holds an unbounded quantifier so far.
  const stack: boolean[] = [false]
  let i = 0
  const unboundedAt = (at: number): number => {
    // Length of an unbounded quantifier starting at `at`, 0 if there is none.
    const c = source[at]
    if (c === '*' || c === '+') return 1
    if (c === '{') {
      const m = /^\{\d+,\}/.exec(source.slice(at, at + 24))
      if (m) return m[0].length
    }
    return 0
  }
  while (i < source.length) {
    const c = source[i]!
    if (c === '\\') {
      i += 2
      continue
    }
    if (c === '[') {
      // skip the class, escapes included
      i++
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1
      i++
      continue
    }
    if (c === '(') {
      stack.push(false)
      i++
      continue
    }
    if (c === ')') {
      const inner = stack.length > 1 ? stack.pop()! : false
      i++
      const quantifier = unboundedAt(i)
      if (quantifier > 0) {
        if (inner) return true
        stack[stack.length - 1] = true
      } else if (inner) {
        stack[stack.length - 1] = true
      }
      continue
    }
    const quantifier = unboundedAt(i)
    if (quantifier > 0) {
      stack[stack.length - 1] = true
      i += quantifier
      continue
    }
    i++
  }
  return false
}
