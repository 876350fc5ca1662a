import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Attributes, AttributeValue, Span } from '@spansift/core/span-model'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import fc from 'fast-check'
import { spanToRow } from './span-row.ts'
import type { Storage } from './storage.ts'
import { tableNames } from './tables.ts'
import { openTestStorage } from './test-storage.ts'

// The embedded engine stores spans as RowBinary through a session of its own; a server
// gets JSONEachRow. Both must store exactly what spanToRow describes: these spans go in
// through the repository (whichever path the wiring uses) and through the JSON path
// directly, and both copies must read back equal to the span.
let storage: Storage
const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const BIG_APP = '0b5e55ed-0000-4000-8000-000000000040'
const OTHER_APP = 'ffffffff-0000-4000-8000-00000000000f'

before(async () => {
  storage = await openTestStorage('insert-paths')
})
after(async () => {
  await storage.close()
})

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
// Every UTF-16 code point, astral planes included, but no lone surrogates: spans come
// from UTF-8 on the wire, which cannot carry one.
const text = fc.string({ unit: 'grapheme', maxLength: 300 })
const attributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ value: AttributeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => n.toString()),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(text, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value
const attributes: fc.Arbitrary<Attributes> = fc.dictionary(text, attributeValue, {
  maxKeys: 8,
  noNullPrototype: true,
})
const now = BigInt(Date.now()) * 1_000_000n
const time = fc.bigInt({ min: now - 86_400_000_000_000n, max: now })

const spanArbitrary: fc.Arbitrary<Span> = fc
  .record({
    traceId: hex(32),
    spanId: hex(16),
    parentSpanId: fc.oneof(fc.constant(''), hex(16)),
    traceState: text,
    name: text,
    kind: fc.constantFrom(0, 1, 2, 3, 4, 5),
    start: time,
    duration: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    statusCode: fc.constantFrom(0, 1, 2),
    statusMessage: text,
    serviceName: text,
    scopeName: text,
    scopeVersion: text,
    resourceAttributes: attributes,
    attributes,
    events: fc.array(fc.record({ timeUnixNano: time, name: text, attributes }), { maxLength: 3 }),
    links: fc.array(fc.record({ traceId: hex(32), spanId: hex(16), traceState: text, attributes }), {
      maxLength: 2,
    }),
    flags: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  })
  .map(
    ({ start, duration, ...rest }): Span => ({
      applicationId: APP,
      ...rest,
      kind: rest.kind as Span['kind'],
      statusCode: rest.statusCode as Span['statusCode'],
      startTimeUnixNano: start,
      endTimeUnixNano: start + duration,
      durationNano: duration,
    }),
  )

/** JSON text of a span field (bigints as `<digits>n`), the same for values that serialize alike. */
const canonicalJson = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined'

const wideRange = { fromUnixNano: now - 2n * 86_400_000_000_000n, toUnixNano: now + 86_400_000_000_000n }

test('spans of any text, nanosecond times, maps and 64-bit integers read back exactly from either insert path', async () => {
  const spans = fc.sample(
    fc.uniqueArray(spanArbitrary, { selector: (s) => s.traceId + s.spanId, minLength: 300, maxLength: 300 }),
    { numRuns: 1, seed: 13 },
  )[0]!
  // Fixed edge cases beside the random ones.
  const edge: Span = {
    ...spans[0]!,
    traceId: 'ffffffffffffffffffffffffffffffff',
    spanId: '0000000000000000',
    name: `emoji 🧪 ${'é'.repeat(200)}`,
    startTimeUnixNano: now - 999_999_999n,
    endTimeUnixNano: now,
    durationNano: 999_999_999n,
    attributes: {
      'int.max': '9223372036854775807',
      'int.min': '-9223372036854775808',
      quote: 'say "hi" \\ \n\t\u0000',
      ключ: 'значение',
      long: 'x'.repeat(70_000),
      nested: { a: [1, 2.5, true, null, { b: '🙂' }] },
    },
    flags: 2 ** 32 - 1,
  }
  const all = [...spans, edge]
  await storage.spans.insert(all)
  // The same spans, under another application, through the JSON path.
  const t = tableNames(storage.runner.database)
  await storage.runner.insert(
    'test',
    t.spans,
    all.map((s) => spanToRow({ ...s, applicationId: OTHER_APP })),
  )
  for (const [applicationId, label] of [
    [APP, 'repository path'],
    [OTHER_APP, 'JSON path'],
  ] as const) {
    const found = await storage.spans.findByRefs(applicationId, all, wideRange)
    const byId = new Map(found.map((s) => [s.traceId + s.spanId, s]))
    assert.equal(found.length, all.length, label)
    for (const original of all) {
      const stored = byId.get(original.traceId + original.spanId)
      const expected: Span = { ...original, applicationId }
      for (const key of Object.keys(expected) as Array<keyof Span>) {
        // Compared as the JSON they serialize to: an integral double past 2^53 reads back as
        // an exact integer (JSON.rawJSON, see exact-integer.ts) that writes the same digits;
        // and fast-check's records have no prototype, stored ones do.
        assert.equal(
          canonicalJson(stored?.[key]),
          canonicalJson(expected[key]),
          `${label}: ${key} of ${original.traceId}/${original.spanId}`,
        )
      }
    }
  }
})

test('a span the columns cannot hold is refused as a permanent storage error, and nothing of its batch is stored', async () => {
  const [good] = fc.sample(spanArbitrary, { numRuns: 1, seed: 7 })
  const tooLate = { ...good!, traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', startTimeUnixNano: 2n ** 63n }
  const badId = { ...good!, traceId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }
  for (const bad of [tooLate, badId]) {
    if (!storage.runner.binaryInserts) continue // the server refuses these itself
    await assert.rejects(storage.spans.insert([good!, bad]), StorageRejectedError)
  }
  const [row] = await storage.runner.select<{ n: string }>(
    'test',
    `SELECT count() AS n FROM ${tableNames(storage.runner.database).spans} WHERE trace_id = {t:FixedString(32)}`,
    { t: good!.traceId },
  )
  assert.equal(Number(row!.n), 0)
})

test('reads do not queue behind an insert on the embedded engine', {
  skip: process.env.SPANSIFT_CLICKHOUSE_URL ? 'embedded only' : false,
}, async () => {
  const samples = fc.sample(spanArbitrary, { numRuns: 50, seed: 21 })
  const big = Array.from({ length: 40_000 }, (_, i) => ({
    ...samples[i % samples.length]!,
    applicationId: BIG_APP,
    spanId: i.toString(16).padStart(16, '0'),
  }))
  let inserting = true
  const startedAt = performance.now()
  let endedAt = Number.NaN
  const insert = storage.spans.insert(big).finally(() => {
    inserting = false
    endedAt = performance.now()
  })
  // On one session a read would wait for the engine's whole part of the insert, so the
  // last read finished long before the insert did; on their own session reads keep
  // finishing until its end.
  let reads = 0
  let lastReadAt = startedAt
  while (inserting && reads < 1_000) {
    // With parameters, as the API's reads: chdb runs every parameterized query of the
    // process through one chain, so an insert made with parameters would hold them all.
    await storage.runner.select('test', 'SELECT {n:UInt8} AS n', { n: 1 })
    if (!inserting) break
    reads++
    lastReadAt = performance.now()
  }
  await insert
  const total = endedAt - startedAt
  const gap = endedAt - lastReadAt
  assert.ok(reads >= 20, `only ${reads} reads finished while the insert ran`)
  assert.ok(
    gap < total / 4,
    `no read finished in the last ${gap.toFixed(0)} ms of a ${total.toFixed(0)} ms insert`,
  )
  // Encoded in slices, inserted as one: every span once.
  const [row] = await storage.runner.select<{ n: string }>(
    'test',
    `SELECT count() AS n FROM ${tableNames(storage.runner.database).spans} FINAL WHERE application_id = {app:UUID}`,
    { app: BIG_APP },
  )
  assert.equal(Number(row!.n), big.length)
})
