/**
 * The predicate language of rules (a rule's `when:`), its AST and its schema.
 *
 * One meaning, two compilations: compile-js.ts (the streaming path, a matcher over a
 * `Span`) and compile-sql.ts (the backfill path, a condition over the `spans` table).
 * A property test on the real engine (rule-sql-agreement.integration.test.ts) holds
 * them to the same answers. predicate-check.ts refuses, at load time, what would be a
 * typing mistake or what the two could not agree on.
 *
 * Surface (YAML):
 *   leaf         { field: <path>, <operator>: <operand> }, exactly one operator:
 *                  equals, not_equals          a scalar (string, number or boolean)
 *                  in, not_in                  a non-empty list of scalars of one type
 *                  gt, gte, lt, lte            a number
 *                  contains, starts_with,
 *                  ends_with, matches          a string (matches: a regular expression)
 *                  exists, missing             true
 *   combinators  { all: [p, …] }  { any: [p, …] }  { not: p }   (lists non-empty)
 *   events       { event: { name: <string>, where?: <predicate> } }: the span has an event
 *                of that name whose attributes satisfy `where` (inside `where`, `field`
 *                names a key of the event's attributes).
 *
 * Fields (fields.ts, semantic-fields.ts):
 *   built-ins    span.name, span.kind (internal|server|client|producer|consumer|
 *                unspecified), span.status (unset|ok|error), span.status_message,
 *                span.duration_ms (a number: duration_ns / 1e6), service.name, scope.name,
 *                scope.version, trace.id, span.id, span.parent_id ('' for a root span).
 *                Built-ins are always present. Other `span.*` names are refused.
 *   aliases      (semantic-fields.ts) read from the span's message model (genai/), whatever
 *                the convention: input, output (message lists), input_text (the last user
 *                message's text), output_text (the answer's text), system, tools,
 *                prompt_variables; and from attribute keys: model (the request model, else
 *                the response model), response_model. Dataset mapping paths resolve them
 *                the same way. SQL compiles model and response_model exactly, the others
 *                as a superset (compile-sql.ts).
 *   attributes   `attributes.<key>` / `resource.<key>` force one source; a bare key is the
 *                span attribute when the span has it, else the resource attribute. Keys keep
 *                their dots; when no key matches the whole path, the longest key that is a
 *                dotted prefix of it is taken and the rest walks into the structured value
 *                (`gen_ai.prompt.0.content`: array index 0, object key "content"), a string
 *                holding a JSON object or array included (attribute-walk.ts) — exactly
 *                resolveAttributePath of datasets/attribute-path.ts.
 *
 * Values and comparisons:
 *   - A field whose path resolves to nothing, or to null, is missing. `exists` is true when
 *     the field is present with a non-null value; `missing` is its negation.
 *   - Comparisons are typed, never coerced: `equals: 5` matches the number 5 only (not the
 *     string "5"), `equals: "true"` matches the string only. gt/gte/lt/lte hold for numbers
 *     only. A comparison with a value of another JSON type is false.
 *   - not_equals / not_in mean "present and different": false on a missing field, true on
 *     a present value of another type. (`not: {field, equals}` is true on a missing field.)
 *   - contains, starts_with, ends_with and matches apply to strings, case-sensitively
 *     (matches: `(?i)` at the start of the pattern for case-insensitive), and to an array
 *     or object that is a span or resource attribute's whole value through its compact JSON
 *     text (`input contains refund` on structured `gen_ai.input.messages`). Values reached
 *     by walking into a structure, and event attribute values, match them only as strings.
 *   - Numbers are IEEE doubles. An int64 beyond 2^53 arrives as a decimal string (see
 *     span-model.ts) and is compared as a string. Non-finite numbers (NaN, ±Infinity) are
 *     stored as null, so they count as missing.
 *   - matches: a regular expression of the subset in predicate-check.ts, found anywhere in
 *     the text (anchor with ^ and $); `.` also matches newlines; `(?i)` first for
 *     case-insensitive. Its classes reach both engines as explicit code points, and
 *     JavaScript runs it in linear time (no backtracking), as RE2 does.
 */

import { z } from 'zod'
import { closest } from './did-you-mean.ts'

export type Scalar = string | number | boolean

/** The operators of a leaf, in the order error messages list them. */
export const LEAF_OPERATORS = [
  'equals',
  'not_equals',
  'in',
  'not_in',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'starts_with',
  'ends_with',
  'matches',
  'exists',
  'missing',
] as const
export type LeafOperator = (typeof LEAF_OPERATORS)[number]

export type EqualityOperator = 'equals' | 'not_equals'
export type ListOperator = 'in' | 'not_in'
export type NumberOperator = 'gt' | 'gte' | 'lt' | 'lte'
export type TextOperator = 'contains' | 'starts_with' | 'ends_with' | 'matches'
export type PresenceOperator = 'exists' | 'missing'

export const NUMBER_OPERATORS: readonly NumberOperator[] = ['gt', 'gte', 'lt', 'lte']
export const TEXT_OPERATORS: readonly TextOperator[] = ['contains', 'starts_with', 'ends_with', 'matches']

/** A leaf as written: the field and exactly one operator. */
export type FieldPredicate =
  | { field: string; equals: Scalar }
  | { field: string; not_equals: Scalar }
  | { field: string; in: Scalar[] }
  | { field: string; not_in: Scalar[] }
  | { field: string; gt: number }
  | { field: string; gte: number }
  | { field: string; lt: number }
  | { field: string; lte: number }
  | { field: string; contains: string }
  | { field: string; starts_with: string }
  | { field: string; ends_with: string }
  | { field: string; matches: string }
  | { field: string; exists: true }
  | { field: string; missing: true }

export interface AllPredicate {
  all: Predicate[]
}
export interface AnyPredicate {
  any: Predicate[]
}
export interface NotPredicate {
  not: Predicate
}
export interface EventPredicate {
  event: { name: string; where?: Predicate }
}

/** The AST is the surface: what predicateSchema parses is what the compilers take. */
export type Predicate = FieldPredicate | AllPredicate | AnyPredicate | NotPredicate | EventPredicate

/** A leaf in one shape, for the compilers and the checker. */
export type Leaf =
  | { field: string; op: EqualityOperator; value: Scalar }
  | { field: string; op: ListOperator; values: Scalar[] }
  | { field: string; op: NumberOperator; value: number }
  | { field: string; op: TextOperator; value: string }
  | { field: string; op: PresenceOperator }

/** The leaf of a field predicate (the one operator it carries). */
export function leafOf(p: FieldPredicate): Leaf {
  const record = p as unknown as Record<string, unknown>
  for (const op of LEAF_OPERATORS) {
    if (!Object.hasOwn(record, op)) continue
    const operand = record[op]
    switch (op) {
      case 'in':
      case 'not_in':
        return { field: p.field, op, values: operand as Scalar[] }
      case 'exists':
      case 'missing':
        return { field: p.field, op }
      default:
        return { field: p.field, op, value: operand as never }
    }
  }
  throw new Error(`predicate on ${p.field} has no operator`)
}

export function isFieldPredicate(p: Predicate): p is FieldPredicate {
  return Object.hasOwn(p, 'field')
}

const COMBINATORS = ['all', 'any', 'not', 'event'] as const
const KNOWN_KEYS: readonly string[] = ['field', ...LEAF_OPERATORS, ...COMBINATORS]
const SHAPES = '{field, <operator>}, {all: [...]}, {any: [...]}, {not: ...} or {event: {name, where}}'

/** The closest known key, for a "did you mean" (edit distance ≤ 2). */
function suggestion(key: string, known: readonly string[]): string {
  const best = closest(key, known, 2)
  return best ? ` (did you mean "${best}"?)` : ''
}

const describe = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'a mapping'
        : typeof value

const scalarSchema = (op: string) =>
  z.union([z.string(), z.number(), z.boolean()], {
    error: (issue) =>
      typeof issue.input === 'number'
        ? `${op} takes a finite number`
        : `${op} takes a string, a number or a boolean, got ${describe(issue.input)}`,
  })

const listSchema = (op: string) =>
  z
    .array(scalarSchema(`each value of ${op}`), {
      error: (issue) => `${op} takes a list of values, got ${describe(issue.input)}`,
    })
    .min(1, { error: `${op} needs at least one value` })

const numberSchema = (op: string) =>
  z.number({
    error: (issue) =>
      typeof issue.input === 'number'
        ? `${op} takes a finite number`
        : `${op} takes a number, got ${describe(issue.input)}`,
  })

const textSchema = (op: string) =>
  z.string({ error: (issue) => `${op} takes a string, got ${describe(issue.input)}` })

const trueSchema = (op: string, opposite: string) =>
  z.literal(true, { error: `${op} takes true (for the opposite, write ${opposite}: true)` })

const predicateList = (name: string): z.ZodType<Predicate[]> =>
  z
    .array(predicateSchema, {
      error: (issue) => `${name} takes a list of predicates, got ${describe(issue.input)}`,
    })
    .min(1, { error: `${name} needs at least one predicate` })

const eventSchema = z.strictObject(
  {
    name: z
      .string({ error: (issue) => `event.name takes a string, got ${describe(issue.input)}` })
      .min(1, { error: 'event.name must not be empty' }),
    get where(): z.ZodOptional<z.ZodType<Predicate>> {
      return predicateSchema.optional()
    },
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0] ?? ''
        return `unknown key "${key}" in event${suggestion(key, ['name', 'where'])}: an event takes name and where`
      }
      if (issue.code === 'invalid_type')
        return `event takes a mapping {name, where}, got ${describe(issue.input)}`
      return undefined
    },
  },
)

const nodeSchema = z
  .strictObject(
    {
      field: z
        .string({ error: (issue) => `field takes a path string, got ${describe(issue.input)}` })
        .min(1, { error: 'field must not be empty' })
        .optional(),
      equals: scalarSchema('equals').optional(),
      not_equals: scalarSchema('not_equals').optional(),
      in: listSchema('in').optional(),
      not_in: listSchema('not_in').optional(),
      gt: numberSchema('gt').optional(),
      gte: numberSchema('gte').optional(),
      lt: numberSchema('lt').optional(),
      lte: numberSchema('lte').optional(),
      contains: textSchema('contains').optional(),
      starts_with: textSchema('starts_with').optional(),
      ends_with: textSchema('ends_with').optional(),
      matches: textSchema('matches').optional(),
      exists: trueSchema('exists', 'missing').optional(),
      missing: trueSchema('missing', 'exists').optional(),
      get all(): z.ZodOptional<z.ZodType<Predicate[]>> {
        return predicateList('all').optional()
      },
      get any(): z.ZodOptional<z.ZodType<Predicate[]>> {
        return predicateList('any').optional()
      },
      get not(): z.ZodOptional<z.ZodType<Predicate>> {
        return predicateSchema.optional()
      },
      event: eventSchema.optional(),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys') {
          return issue.keys
            .map((key) => `unknown key "${key}"${suggestion(key, KNOWN_KEYS)}: a predicate is ${SHAPES}`)
            .join('; ')
        }
        if (issue.code === 'invalid_type')
          return `a predicate is a mapping, ${SHAPES}; got ${describe(issue.input)}`
        return undefined
      },
    },
  )
  .check((ctx) => {
    const value = ctx.value as Record<string, unknown>
    const present = (keys: readonly string[]) => keys.filter((k) => value[k] !== undefined)
    const operators = present(LEAF_OPERATORS)
    const combinators = present(COMBINATORS)
    const issue = (message: string, path: PropertyKey[] = []) =>
      ctx.issues.push({ code: 'custom', message, input: ctx.value, path })
    if (value.field !== undefined) {
      if (combinators.length > 0) {
        issue(`a field predicate cannot also hold ${combinators.join(', ')}: nest them under all/any`)
      } else if (operators.length === 0) {
        issue(`field "${value.field}" needs one operator: ${LEAF_OPERATORS.join(', ')}`)
      } else if (operators.length > 1) {
        issue(
          `field "${value.field}" has ${operators.length} operators (${operators.join(', ')}); write one per predicate and combine them with all/any`,
        )
      }
      return
    }
    if (operators.length > 0) {
      issue(`${operators.join(', ')} needs a field: {field: <path>, ${operators[0]}: ...}`)
      return
    }
    if (combinators.length === 0) issue(`an empty predicate: write ${SHAPES}`)
    else if (combinators.length > 1)
      issue(`a predicate holds one of all, any, not, event; found ${combinators.join(' and ')}: nest them`)
  })

/**
 * Parses the YAML surface of a predicate (strict: unknown keys, a missing or second
 * operator, wrong operand types are refused with a message naming the key). Typing against
 * the fields (a string field compared with a number, an unknown enum value, an unsupported
 * regex) is checkPredicate's, which reports paths relative to the predicate.
 */
export const predicateSchema: z.ZodType<Predicate> = nodeSchema as unknown as z.ZodType<Predicate>
