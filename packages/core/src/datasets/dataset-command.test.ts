import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { AppendCandidate } from './append-candidate.ts'
import { createRoutedDatasetWriter, type DatasetCommand, datasetCommandKey } from './dataset-command.ts'
import type { AppendResult } from './dataset-writer-port.ts'

const candidate = (n: number): AppendCandidate => ({
  applicationId: 'app',
  traceId: n.toString(16).padStart(32, '0'),
  spanId: n.toString(16).padStart(16, '0'),
  spanStartUnixNano: BigInt(n),
  sourceKind: 'rule',
  ruleId: 'r',
  row: { inputs: {}, expected_outputs: {}, metadata: {}, extras: {} },
  inputsHash: '',
})

/** An owner that adds every candidate, except those whose number is in `excludedFrom` and up (all excluded: refused). */
function owner(sent: DatasetCommand[], excludedFrom = Number.POSITIVE_INFINITY) {
  return async (command: DatasetCommand): Promise<unknown> => {
    sent.push(command)
    if (command.op !== 'append') return undefined
    const kept = command.candidates.filter((c) => Number(c.spanStartUnixNano) < excludedFrom)
    if (kept.length === 0) throw new SpansiftError(ErrorCode.leakageAllExcluded, 'all excluded')
    const result: AppendResult = {
      datasetId: command.datasetId,
      versionId: 1,
      items: kept.map((c) => ({ traceId: c.traceId, spanId: c.spanId, itemId: c.spanId, added: true })),
      excluded: [],
      warnings: [],
      purgedFromTraining: 0,
      droppedForCap: 0,
    }
    return result
  }
}

test('an all-or-nothing append is one command, whatever its size', async () => {
  const sent: DatasetCommand[] = []
  const writer = createRoutedDatasetWriter({ send: owner(sent), maxCandidatesPerCommand: 10 })
  const result = await writer.append(
    'd',
    Array.from({ length: 25 }, (_, i) => candidate(i)),
  )
  assert.equal(sent.length, 1)
  assert.equal(result.items.length, 25)
})

test('an up-to-cap append travels in parts, in order, and answers as one', async () => {
  const sent: DatasetCommand[] = []
  const writer = createRoutedDatasetWriter({ send: owner(sent, 20), maxCandidatesPerCommand: 10 })
  const result = await writer.append(
    'd',
    Array.from({ length: 25 }, (_, i) => candidate(i)),
    { upToCap: true },
  )
  assert.deepEqual(
    sent.map((c) => (c.op === 'append' ? c.candidates.length : 0)),
    [10, 10, 5],
  )
  assert.equal(result.items.length, 20, 'the third part lay wholly in the excluded set')
  assert.equal(result.excluded.length, 5)
  await assert.rejects(
    writer.append('d', [candidate(30), candidate(31)], { upToCap: true }),
    (error) => error instanceof SpansiftError && error.code === ErrorCode.leakageAllExcluded,
  )
})

test('a new dataset is keyed by the eval dataset it excludes, else its application', () => {
  const dataset = { name: 'n', applicationId: 'app', kind: 'training' as const, excludeDatasetId: 'eval-1' }
  assert.equal(datasetCommandKey({ op: 'create', dataset }), 'eval-1')
  assert.equal(datasetCommandKey({ op: 'create', dataset: { ...dataset, excludeDatasetId: null } }), 'app')
  assert.equal(datasetCommandKey({ op: 'publish', datasetId: 'd' }), 'd')
})

test("a dataset's patch is one command keyed by the dataset, run on the owner's patchDataset", async () => {
  const sent: DatasetCommand[] = []
  const writer = createRoutedDatasetWriter({ send: owner(sent) })
  await writer.patchDataset('ds-1', { feedbackCategories: ['wrong'] })
  assert.deepEqual(sent, [
    { op: 'patchDataset', datasetId: 'ds-1', patch: { feedbackCategories: ['wrong'] } },
  ])
  assert.equal(datasetCommandKey(sent[0]!), 'ds-1')
})
