import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from 'yaml'
import { z } from 'zod'
import { leafOf, type Predicate, predicateSchema } from './predicate.ts'

const issuesOf = (input: unknown) => {
  const result = predicateSchema.safeParse(input)
  assert.equal(result.success, false, `expected ${JSON.stringify(input)} to be refused`)
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }))
}

test('the YAML surface parses into the AST as written', () => {
  const text = `
all:
  - field: model
    in: [gpt-4o, claude]
  - any:
      - field: gen_ai.usage.input_tokens
        gt: 1000
      - not:
          field: span.status
          equals: error
  - event:
      name: gen_ai.choice
      where:
        field: finish_reason
        equals: length
  - field: input
    matches: "(?i)refund"
  - field: user.id
    exists: true
`
  const parsed = predicateSchema.parse(parse(text))
  const expected: Predicate = {
    all: [
      { field: 'model', in: ['gpt-4o', 'claude'] },
      {
        any: [
          { field: 'gen_ai.usage.input_tokens', gt: 1000 },
          { not: { field: 'span.status', equals: 'error' } },
        ],
      },
      { event: { name: 'gen_ai.choice', where: { field: 'finish_reason', equals: 'length' } } },
      { field: 'input', matches: '(?i)refund' },
      { field: 'user.id', exists: true },
    ],
  }
  assert.deepEqual(parsed, expected)
})

test('unknown keys are refused with a suggestion', () => {
  assert.deepEqual(issuesOf({ field: 'model', equal: 'x' }), [
    {
      path: [],
      message:
        'unknown key "equal" (did you mean "equals"?): a predicate is {field, <operator>}, {all: [...]}, {any: [...]}, {not: ...} or {event: {name, where}}',
    },
    {
      path: [],
      message:
        'field "model" needs one operator: equals, not_equals, in, not_in, gt, gte, lt, lte, contains, starts_with, ends_with, matches, exists, missing',
    },
  ])
  assert.match(issuesOf({ alll: [] })[0]!.message, /unknown key "alll" \(did you mean "all"\?\)/)
  assert.match(
    issuesOf({ event: { name: 'x', wher: {} } })[0]!.message,
    /unknown key "wher" in event \(did you mean "where"\?\)/,
  )
})

test('shape errors name what is wrong', () => {
  const messages = (input: unknown) => issuesOf(input).map((i) => `${i.path.join('.')}: ${i.message}`)
  assert.deepEqual(messages({ field: 'a', equals: 1, contains: 'x' }), [
    ': field "a" has 2 operators (equals, contains); write one per predicate and combine them with all/any',
  ])
  assert.deepEqual(messages({ equals: 1 }), [': equals needs a field: {field: <path>, equals: ...}'])
  assert.deepEqual(messages({}), [
    ': an empty predicate: write {field, <operator>}, {all: [...]}, {any: [...]}, {not: ...} or {event: {name, where}}',
  ])
  assert.deepEqual(messages({ all: [{ field: 'a', exists: true }], any: [{ field: 'b', exists: true }] }), [
    ': a predicate holds one of all, any, not, event; found all and any: nest them',
  ])
  assert.deepEqual(messages({ field: 'a', exists: true, all: [{ field: 'b', exists: true }] }), [
    ': a field predicate cannot also hold all: nest them under all/any',
  ])
  assert.deepEqual(messages({ all: [] }), ['all: all needs at least one predicate'])
  assert.deepEqual(messages({ any: 'x' }), ['any: any takes a list of predicates, got string'])
  assert.deepEqual(messages({ field: 'a', in: [] }), ['in: in needs at least one value'])
  assert.deepEqual(messages({ field: 'a', not_in: 'x' }), [
    'not_in: not_in takes a list of values, got string',
  ])
  assert.deepEqual(messages({ field: 'a', equals: null }), [
    'equals: equals takes a string, a number or a boolean, got null',
  ])
  assert.deepEqual(messages({ field: 'a', equals: { b: 1 } }), [
    'equals: equals takes a string, a number or a boolean, got a mapping',
  ])
  assert.deepEqual(messages({ field: 'a', gt: '5' }), ['gt: gt takes a number, got string'])
  assert.deepEqual(messages({ field: 'a', gt: Number.POSITIVE_INFINITY }), ['gt: gt takes a finite number'])
  assert.deepEqual(messages({ field: 'a', contains: 5 }), ['contains: contains takes a string, got number'])
  assert.deepEqual(messages({ field: 'a', exists: false }), [
    'exists: exists takes true (for the opposite, write missing: true)',
  ])
  assert.deepEqual(messages({ field: '', exists: true }), ['field: field must not be empty'])
  assert.deepEqual(messages({ field: 5, exists: true }), ['field: field takes a path string, got number'])
  assert.deepEqual(messages({ event: { where: { field: 'a', exists: true } } }), [
    'event.name: event.name takes a string, got undefined',
  ])
  assert.deepEqual(messages('x'), [
    ': a predicate is a mapping, {field, <operator>}, {all: [...]}, {any: [...]}, {not: ...} or {event: {name, where}}; got string',
  ])
})

test('errors deep in the tree carry their path', () => {
  const issues = issuesOf({
    all: [{ field: 'a', exists: true }, { not: { any: [{ field: 'b', gt: 'x' }] } }],
  })
  assert.deepEqual(issues, [
    { path: ['all', 1, 'not', 'any', 0, 'gt'], message: 'gt takes a number, got string' },
  ])
})

test('leafOf gives the one operator and its operand', () => {
  assert.deepEqual(leafOf({ field: 'a', equals: 'x' }), { field: 'a', op: 'equals', value: 'x' })
  assert.deepEqual(leafOf({ field: 'a', in: [1, 2] }), { field: 'a', op: 'in', values: [1, 2] })
  assert.deepEqual(leafOf({ field: 'a', missing: true }), { field: 'a', op: 'missing' })
})

test('the schema has a JSON Schema (the rule file schema is generated from it)', () => {
  const schema = z.toJSONSchema(predicateSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >
  assert.equal(schema.type, 'object')
  assert.equal(schema.additionalProperties, false)
  assert.ok(Object.hasOwn(schema.properties as object, 'matches'))
})
