import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { tableNames } from '@spansift/clickhouse/tables'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import { type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'
import { otlpJsonExport } from './test-otlp.ts'

// One sender's bad data never fails another sender's request (issue 11).
let s: RunningSpansift
before(async () => {
  s = await startSpansift()
})
after(async () => {
  await s.stop()
})

async function storedSpans(applicationId: string): Promise<number> {
  const { spans } = tableNames(s.spansift.storage().runner.database)
  const [row] = await s.spansift
    .storage()
    .runner.select<{ n: string }>(
      'test.count',
      `SELECT count() AS n FROM ${spans} WHERE application_id = {app:UUID}`,
      { app: applicationId },
    )
  return Number(row?.n)
}

describe('embedded: storage refusing one request', () => {
  test("app A's spans storage refuses never fail app B's 300 concurrent exports", async () => {
    const a = await s.createApplication('bad-timestamps')
    const b = await s.createApplication('good-exports')
    // A's spans go straight onto the bus, past the receiver's validation (which now refuses
    // them at the door): a start time of 0 is what ClickHouse cannot parse.
    const bad = () =>
      s.spansift
        .bus()
        .publish([
          recentSpan({
            applicationId: a.id,
            traceId: randomHex(16),
            spanId: randomHex(8),
            startTimeUnixNano: 0n,
          }),
        ])
        .then(
          () => 'stored',
          (error: unknown) => (error instanceof StorageRejectedError ? 'refused' : `other: ${error}`),
        )
    const good = () =>
      fetch(s.otlpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.key}`, 'content-type': 'application/json' },
        body: otlpJsonExport([{ traceId: randomHex(16), spanId: randomHex(8) }]),
      }).then((response) => response.status)

    // 300 exports of B, 20 at a time, each wave racing one bad publish of A, so A's span
    // lands in the same merged inserts as B's.
    const statuses: number[] = []
    const refusals: string[] = []
    for (let wave = 0; wave < 15; wave++) {
      const [aResult, ...bResults] = await Promise.all([bad(), ...Array.from({ length: 20 }, good)])
      refusals.push(aResult!)
      statuses.push(...bResults)
    }
    assert.equal(statuses.filter((status) => status === 200).length, 300, `B's statuses: ${statuses}`)
    assert.deepEqual(new Set(refusals), new Set(['refused']))
    assert.equal(await storedSpans(b.id), 300)
    assert.equal(await storedSpans(a.id), 0)
  })
})
