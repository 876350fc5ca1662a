import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SpansiftError } from '../error-codes.ts'
import { assertWithinCap, DEFAULT_DATASET_CAPS } from './caps.ts'
import { resolveColumns } from './columns.ts'
import type { MappedRow } from './dataset-model.ts'
import { canonicalJson, hashInputs } from './inputs-hash.ts'
import { deriveItemId } from './item-id.ts'
import { applyLeakageGuard, spanKey } from './leakage.ts'

const code = (expected: string) => (error: unknown) =>
  error instanceof SpansiftError && error.code === expected

test('the default caps are 10,000 eval rows and 1,000,000 training rows, enforced exactly', () => {
  assert.deepEqual(DEFAULT_DATASET_CAPS, { eval: 10_000, training: 1_000_000 })
  assertWithinCap({ kind: 'eval', current: 9_999, adding: 1 })
  assert.throws(
    () => assertWithinCap({ kind: 'eval', current: 10_000, adding: 1 }),
    code('dataset_cap_reached'),
  )
  assert.throws(
    () => assertWithinCap({ kind: 'eval', current: 9_990, adding: 11 }),
    /cap of 10000 rows was hit/,
  )
  assertWithinCap({ kind: 'training', current: 999_999, adding: 1 })
  assert.throws(
    () => assertWithinCap({ kind: 'training', current: 1_000_000, adding: 1 }),
    code('dataset_cap_reached'),
  )
  // Re-appending existing rows adds nothing, so it passes even at the cap.
  assertWithinCap({ kind: 'eval', current: 10_000, adding: 0 })
  assert.throws(() =>
    assertWithinCap({ kind: 'eval', current: 2, adding: 2, caps: { eval: 3, training: 5 } }),
  )
})

const row = (inputs: Record<string, string>, outputs: Record<string, string> = {}): MappedRow => ({
  inputs,
  expected_outputs: outputs,
  metadata: { anything: 'x' },
  extras: {},
})

test('an empty dataset bootstraps its columns from the first rows', () => {
  const result = resolveColumns([], [row({ q: 'a' }, { answer: 'b' }), row({ q: 'c', context: 'd' })])
  assert.equal(result.bootstrapped, true)
  assert.deepEqual(result.columns, [
    { name: 'q', bucket: 'inputs' },
    { name: 'answer', bucket: 'expected_outputs' },
    { name: 'context', bucket: 'inputs' },
  ])
})

test('a dataset with columns accepts subsets and refuses missing columns by name', () => {
  const columns = [
    { name: 'q', bucket: 'inputs' as const },
    { name: 'answer', bucket: 'expected_outputs' as const },
  ]
  assert.deepEqual(resolveColumns(columns, [row({ q: 'a' })]), { columns, bootstrapped: false })
  assert.throws(
    () => resolveColumns(columns, [row({ q: 'a', extra: 'x' }, { answer: 'b', score: '1' })]),
    (error: unknown) =>
      error instanceof SpansiftError &&
      error.code === 'incompatible_columns' &&
      /inputs\.extra, expected_outputs\.score/.test(error.message),
  )
})

test('leakage: same span or identical inputs are excluded; >25% warns; 100% is refused', () => {
  const footprint = { spanKeys: new Set([spanKey('t1', 's1')]), inputsHashes: new Set(['h2']) }
  const c = (n: number, hash = `other${n}`) => ({ traceId: `t${n}`, spanId: `s${n}`, inputsHash: hash })
  const some = applyLeakageGuard([c(1), c(2, 'h2'), c(3), c(4), c(5), c(6), c(7), c(8)], footprint)
  assert.equal(some.excluded.length, 2)
  assert.equal(some.kept.length, 6)
  assert.deepEqual(some.warnings, []) // exactly 25% does not warn
  const many = applyLeakageGuard([c(1), c(2, 'h2'), c(3)], footprint)
  assert.equal(many.excluded.length, 2)
  assert.match(many.warnings[0]!, /2 of 3 candidates \(67%\)/)
  assert.throws(() => applyLeakageGuard([c(1), c(2, 'h2')], footprint), code('leakage_all_excluded'))
  // Rows without inputs never match by inputs.
  assert.equal(
    applyLeakageGuard([c(9, '')], { spanKeys: new Set(), inputsHashes: new Set(['']) }).kept.length,
    1,
  )
})

test('item ids are deterministic UUIDs of (dataset, trace, span)', () => {
  const a = deriveItemId(
    '3c90c3cc-0d44-4b50-8888-8dd25736052a',
    '0af7651916cd43dd8448eb211c80319c',
    'b7ad6b7169203331',
  )
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  assert.equal(
    a,
    deriveItemId(
      '3C90C3CC-0D44-4B50-8888-8DD25736052A',
      '0AF7651916CD43DD8448EB211C80319C',
      'b7ad6b7169203331',
    ),
  )
  assert.notEqual(
    a,
    deriveItemId(
      '3c90c3cc-0d44-4b50-8888-8dd25736052a',
      '0af7651916cd43dd8448eb211c80319c',
      'b7ad6b7169203332',
    ),
  )
  assert.notEqual(
    a,
    deriveItemId(
      '7d1f0a2e-5b6c-4d8e-9f00-112233445566',
      '0af7651916cd43dd8448eb211c80319c',
      'b7ad6b7169203331',
    ),
  )
})

test('inputs hashes ignore key order and are empty for empty inputs', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}')
  assert.equal(hashInputs({ a: 'x', b: 'y' }), hashInputs({ b: 'y', a: 'x' }))
  assert.notEqual(hashInputs({ a: 'x' }), hashInputs({ a: 'y' }))
  assert.equal(hashInputs({}), '')
})
