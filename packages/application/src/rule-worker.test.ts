import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createInProcessAppendQueue } from '@spansift/bus/in-process-append-queue'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type { AppendResult, DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { testSpan } from '@spansift/core/datasets/test-span'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { silentLogger } from '@spansift/core/logger'
import { compileRule } from '@spansift/core/rules/rule-evaluator'
import { parseRuleFile } from '@spansift/core/rules/rule-file'
import { createDatasetAppender } from './dataset-appender.ts'
import type { RuleRegistry } from './rule-registry.ts'
import { createRuleWorker } from './rule-worker.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const D1 = '11111111-1111-4111-8111-111111111111'
const D2 = '22222222-2222-4222-8222-222222222222'

const { rules, errors } = parseRuleFile(
  'test.yaml',
  `rules:
  - id: gpt
    application: ${APP}
    dataset: ${D1}
    when: { field: model, equals: gpt-4o }
    mapping: { inputs: { question: input } }
    defaults: { priority: high, labels: [x] }
  - id: everything
    application: ${APP}
    dataset: ${D2}
    mapping: { metadata: { name: span.name } }
`,
)
assert.deepEqual(errors, [])
const compiled = rules.map(compileRule)

function fakeRegistry() {
  const counts = { matched: new Map<string, number>(), appended: new Map<string, number>(), dropped: 0 }
  const failed: string[] = []
  const registry = {
    forApplication: (id: string) => (id === APP ? compiled : []),
    recordMatched: (ruleId: string, rows: readonly unknown[]) =>
      counts.matched.set(ruleId, (counts.matched.get(ruleId) ?? 0) + rows.length),
    recordAppended: (ruleId: string, added: number, dropped: number) => {
      counts.appended.set(ruleId, (counts.appended.get(ruleId) ?? 0) + added)
      counts.dropped += dropped
    },
    markFailed: (ruleId: string) => failed.push(ruleId),
  } as unknown as RuleRegistry
  return { registry, counts, failed }
}

test('matches are grouped by dataset, appended up to the cap, and counted per rule', async () => {
  const { registry, counts } = fakeRegistry()
  const calls: Array<{ datasetId: string; candidates: readonly AppendCandidate[]; upToCap?: boolean }> = []
  const writer: Pick<DatasetWriter, 'append'> = {
    async append(datasetId, candidates, options) {
      calls.push({ datasetId, candidates, ...(options?.upToCap ? { upToCap: true } : {}) })
      // The second dataset is full after one row.
      const kept = datasetId === D2 ? candidates.slice(0, 1) : candidates
      return {
        datasetId,
        versionId: 1,
        items: kept.map((c) => ({ traceId: c.traceId, spanId: c.spanId, itemId: 'x', added: true })),
        excluded: [],
        warnings: [],
        purgedFromTraining: 0,
        droppedForCap: candidates.length - kept.length,
      } satisfies AppendResult
    },
  }
  const queue = createInProcessAppendQueue()
  queue.consume(createDatasetAppender({ writer: writer as DatasetWriter, registry, logger: silentLogger }))
  await queue.start()
  const handle = createRuleWorker({ registry, queue })
  await handle([
    testSpan({ spanId: 'aaaaaaaaaaaaaaa1' }),
    testSpan({ spanId: 'aaaaaaaaaaaaaaa2', attributes: { 'gen_ai.request.model': 'claude' } }),
    testSpan({ spanId: 'aaaaaaaaaaaaaaa3', applicationId: 'another-application' }),
  ])
  assert.deepEqual(calls.map((c) => [c.datasetId, c.candidates.length, c.upToCap]).sort(), [
    [D1, 1, true],
    [D2, 2, true],
  ])
  const gpt = calls.find((c) => c.datasetId === D1)!.candidates[0]!
  assert.equal(gpt.ruleId, 'gpt')
  assert.deepEqual(gpt.defaults, { priority: 'high', feedbackCategory: null, labels: ['x'] })
  assert.deepEqual(Object.fromEntries(counts.matched), { gpt: 1, everything: 2 })
  assert.deepEqual(Object.fromEntries(counts.appended), { gpt: 1, everything: 1 })
  assert.equal(counts.dropped, 1)
})

test('a dataset that is gone drops its matches and stops the rule; other failures are retried', async () => {
  const { registry, failed } = fakeRegistry()
  let failure: Error = new SpansiftError(ErrorCode.notFound, `no dataset ${D1}`)
  const writer = {
    async append() {
      throw failure
    },
  } as unknown as DatasetWriter
  const append = createDatasetAppender({ writer, registry, logger: silentLogger })
  const candidate = compiled[0]!.toCandidate(testSpan())
  await append(D1, [candidate])
  assert.deepEqual(failed, ['gpt'])
  failure = new Error('ClickHouse is unreachable')
  await assert.rejects(append(D1, [candidate]), /unreachable/)
})
