import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isExactSql, predicateToSql } from './compile-sql.ts'
import type { Predicate } from './predicate.ts'
import { checkPredicate } from './predicate-check.ts'

// What the SQL means is proven on the engine (rule-sql-agreement.integration.test.ts);
// here: its shape, and that no user value ever reaches the SQL text.

test('values are parameters, named by the prefix, typed in the placeholder', () => {
  const { sql, params } = predicateToSql(
    {
      all: [
        { field: 'span.kind', equals: 'client' },
        { field: 'gen_ai.usage.input_tokens', gt: 1000 },
        { field: 'span.name', in: ["it's", 'x'] },
      ],
    },
    'rule',
  )
  assert.ok(
    sql.startsWith('((kind = {rule_0:UInt8}) AND multiIf(mapContains(attributes, {rule_1:String}), '),
    sql,
  )
  assert.ok(sql.endsWith('AND (name IN ({rule_7:String}, {rule_8:String})))'), sql)
  // The whole key, then each shorter key prefix walked, in span then resource attributes.
  assert.equal(sql.match(/mapContains\(/g)?.length, 6)
  assert.deepEqual(params, {
    rule_0: 3,
    rule_1: 'gen_ai.usage.input_tokens',
    rule_2: 'gen_ai.usage',
    rule_3: 'input_tokens',
    rule_4: 'gen_ai',
    rule_5: 'usage',
    rule_6: '1000',
    rule_7: "it's",
    rule_8: 'x',
  })
})

test('a number travels as its shortest round-trip text (the client refuses unsafe integers)', () => {
  const { params } = predicateToSql({ field: 'x', gt: 1e21 })
  assert.ok(Object.values(params).includes('1e+21'))
})

test('a walk into an array indexes from 1, binding the value once', () => {
  const { sql, params } = predicateToSql({ field: 'a.0', exists: true })
  assert.match(
    sql,
    /arrayElement\(arrayMap\(w0 -> if\(startsWith\(w0, '"'\), if\(startsWith\(JSONExtractString\(w0\), '\['\), JSONExtractRaw\(JSONExtractString\(w0\), \{p_\d:Int64\}\)/,
  )
  assert.ok(Object.values(params).includes(1))
  // Each step names the value it walks once: the SQL grows with the square of a path's
  // segments (one walk per key prefix), not exponentially.
  const size = (n: number) =>
    predicateToSql({ field: Array.from({ length: n }, (_, i) => i).join('.'), exists: true }).sql.length
  assert.ok(size(12) < 5 * size(6), `${size(6)} then ${size(12)} characters`)
})

test('events: one lambda over the events JSON', () => {
  const { sql } = predicateToSql({
    event: { name: 'exception', where: { field: 'exception.type', exists: true } },
  })
  assert.match(sql, /^arrayExists\(ev -> JSONExtractString\(ev, 'name'\) = \{p_\d+:String\} AND /)
  assert.match(sql, /JSONHas\(ev, 'attributes', \{p_0:String\}\)/)
  assert.ok(sql.endsWith(', JSONExtractArrayRaw(events))'))
})

test('a regex reaches RE2 normalized', () => {
  const { params } = predicateToSql({ field: 'model', matches: '(?i)ok' })
  assert.ok(Object.values(params).includes('(?s)[Oo][Kk\\x{212A}]'))
})

test('message aliases compile to a bound: a superset under even nots, nothing under odd ones', () => {
  const verbatim = predicateToSql({ field: 'input_text', contains: 'refund' })
  assert.match(verbatim.sql, /^\(position\(concat\(arrayStringConcat\(mapValues\(attributes\)/)
  assert.equal(predicateToSql({ field: 'input_text', contains: 'a"b' }).sql, '1')
  assert.equal(predicateToSql({ field: 'input', contains: 'refund' }).sql, '1')
  assert.equal(predicateToSql({ not: { field: 'input_text', contains: 'refund' } }).sql, '(NOT 0)')
  assert.equal(isExactSql({ not: { field: 'output_text', exists: true } }), false)
  assert.equal(
    isExactSql({
      all: [
        { field: 'model', exists: true },
        { field: 'x', exists: true },
      ],
    }),
    true,
  )
})

test('refused predicates and bad prefixes throw', () => {
  assert.throws(() => predicateToSql({ field: 'span.status', equals: 'failed' }), /has no value "failed"/)
  assert.throws(() => predicateToSql({ field: 'a', exists: true }, 'p; DROP'), /must be an identifier/)
})

const hostile = fc.string({
  unit: fc.constantFrom("'", '"', '\\', '{', '}', ':', ')', '(', ';', '-', 'x', '\n', '`'),
  minLength: 1,
  maxLength: 8,
})
const leaf: fc.Arbitrary<Predicate> = fc.oneof(
  fc.tuple(hostile, hostile).map(([field, v]): Predicate => ({ field: `k${field}`, equals: v })),
  fc.tuple(hostile, hostile).map(([field, v]): Predicate => ({ field: `k${field}`, contains: v })),
  fc
    .tuple(hostile, fc.array(hostile, { minLength: 1, maxLength: 3 }))
    .map(([field, v]): Predicate => ({ field: `k${field}`, in: v })),
  fc
    .tuple(hostile, hostile)
    .map(([name, v]): Predicate => ({ event: { name, where: { field: `e${v}`, starts_with: v } } })),
)

test('no user value is spliced into the SQL: every placeholder is bound, every value bound', () => {
  fc.assert(
    fc.property(fc.array(leaf, { minLength: 1, maxLength: 4 }), (leaves) => {
      const p: Predicate = { any: leaves }
      fc.pre(checkPredicate(p).length === 0)
      const { sql, params } = predicateToSql(p, 'q')
      // Strip placeholders and the compiler's own string constants: no quote, brace or
      // user character is left outside them.
      const constants = ["'null'", "'\"'", "'['", "'{'", "''", "'attributes'", "'name'"]
      let rest = sql.replace(/\{q_\d+:[A-Za-z0-9()]+\}/g, '')
      for (const c of constants) rest = rest.split(c).join('')
      assert.doesNotMatch(rest, /['"`\\;{}]/, sql)
      const placeholders = new Set([...sql.matchAll(/\{(q_\d+):/g)].map((m) => m[1]))
      assert.deepEqual([...placeholders].sort(), Object.keys(params).sort())
    }),
    { numRuns: 500 },
  )
})
