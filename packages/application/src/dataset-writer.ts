import { createHash, randomInt, randomUUID } from 'node:crypto'
import type { DatasetItemsRepository } from '@spansift/clickhouse/dataset-items-repository'
import type { DatasetVersionsRepository } from '@spansift/clickhouse/dataset-versions-repository'
import type { DatasetsRepository } from '@spansift/clickhouse/datasets-repository'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import {
  assertWithinCap,
  type DatasetCaps,
  DEFAULT_DATASET_CAPS,
  roomUnderCap,
} from '@spansift/core/datasets/caps'
import { resolveColumns } from '@spansift/core/datasets/columns'
import { currentVersion, latestPublished } from '@spansift/core/datasets/dataset-json'
import type { Dataset, DatasetItem, DatasetVersion } from '@spansift/core/datasets/dataset-model'
import type { AppendResult, DatasetWriter, NewDataset } from '@spansift/core/datasets/dataset-writer-port'
import { assertValidExclusion } from '@spansift/core/datasets/exclusion'
import { assertFeedbackCategoryAllowed } from '@spansift/core/datasets/feedback-categories'
import { deriveItemId } from '@spansift/core/datasets/item-id'
import { applyLeakageGuard } from '@spansift/core/datasets/leakage'
import { footprintOf } from '@spansift/core/datasets/leakage-footprint'
import { createMonotonicClock } from '@spansift/core/datasets/monotonic-clock'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { NameRaceLostError, retryNameRace } from '@spansift/core/name-race'
import { createKeyedMutex } from './dataset-mutex.ts'

export interface DatasetWriterOptions {
  datasets: DatasetsRepository
  versions: DatasetVersionsRepository
  items: DatasetItemsRepository
  /** Row caps by kind; the product's 10,000 / 1,000,000 unless a test injects smaller ones. */
  caps?: DatasetCaps
  now?: () => number
  logger: Logger
  /** Where rows appended (by dataset kind) go; nowhere by default. */
  metrics?: Metrics
}

/** Ids of datasets' groups and versions: random positive integers, JSON-safe, with no coordination needed. */
const newIntegerId = () => randomInt(1, 2 ** 48 - 1)

/** A positive 48-bit integer id derived from `seed`, for ids that must come out the same when a command runs twice. */
const integerIdFrom = (seed: string) =>
  Math.max(1, createHash('sha256').update(seed).digest().readUIntBE(0, 6) % (2 ** 48 - 1))

/**
 * The single writer of datasets' rows and versions. ClickHouse has no transactions, so
 * every change to one dataset (check leakage, count, insert; create or publish a
 * version; patch a row) runs under that dataset's mutex: caps hold exactly and a draft
 * is seeded once. Datasets differ, changes run concurrently. In the distributed wiring
 * every change to a dataset reaches the one process that owns it (see
 * createRoutedDatasetWriter and the Kafka append queue); two writers for one dataset
 * would void the cap guarantee.
 */
export function createDatasetWriter(options: DatasetWriterOptions): DatasetWriter {
  const { datasets, versions, items } = options
  const caps = options.caps ?? DEFAULT_DATASET_CAPS
  const clock = createMonotonicClock(options.now)
  const mutex = createKeyedMutex()
  const logger = options.logger.child({ component: 'dataset-writer' })
  const rowsAppended = (options.metrics ?? noopMetrics).counter({
    name: 'spansift_dataset_rows_appended_total',
    help: 'Rows appended to datasets, by dataset kind (eval, training).',
    labelNames: ['kind'],
  })

  async function requireDataset(datasetId: string): Promise<Dataset> {
    const dataset = await datasets.get(datasetId)
    if (!dataset) throw new SpansiftError(ErrorCode.notFound, `no dataset ${datasetId}`)
    return dataset
  }

  /** The draft, created (and seeded from the latest published version) when there is none. Under the lock. */
  async function ensureDraft(datasetId: string, known: DatasetVersion[]): Promise<DatasetVersion> {
    const draft = known.find((v) => v.status === 'draft')
    if (draft) return draft
    const latest = latestPublished(known)
    const now = clock()
    const version: DatasetVersion = {
      datasetId,
      versionId: newIntegerId(),
      number: Math.max(0, ...known.map((v) => v.number)) + 1,
      status: 'draft',
      createdAt: now,
      publishedAt: null,
    }
    // Rows first, then the version row: until the version row exists nobody reads its rows.
    if (latest) await items.copyVersion(datasetId, latest.versionId, version.versionId, now)
    await versions.save(version, now)
    logger.info('draft created', {
      dataset_id: datasetId,
      version: version.number,
      seeded_from: latest?.number,
    })
    return version
  }

  /** Removes from one training dataset's current version the rows that overlap new eval rows. */
  async function purgeTraining(training: Dataset, added: readonly AppendCandidate[]): Promise<number> {
    return mutex.run(training.id, async () => {
      const known = await versions.list(training.id)
      const current = currentVersion(known)
      if (!current) return 0
      const refs = added.map((c) => ({ traceId: c.traceId, spanId: c.spanId }))
      const overlapping = await items.findOverlapping(
        training.id,
        current.versionId,
        refs,
        added.map((c) => c.inputsHash),
      )
      if (overlapping.length === 0) return 0
      const draft = await ensureDraft(training.id, known)
      const updatedAt = clock()
      await items.write(
        overlapping.map((item) => ({ ...item, versionId: draft.versionId, updatedAt })),
        { deleted: true },
      )
      logger.info('training rows purged: they now overlap the eval dataset', {
        dataset_id: training.id,
        rows: overlapping.length,
      })
      return overlapping.length
    })
  }

  async function append(
    datasetId: string,
    candidates: readonly AppendCandidate[],
    ensureDraftAlways: boolean,
    upToCap: boolean,
    signal: AbortSignal | undefined,
  ): Promise<AppendResult> {
    const dataset = await requireDataset(datasetId)
    for (const c of candidates) {
      if (c.applicationId !== dataset.applicationId) {
        throw new SpansiftError(
          ErrorCode.invalidArgument,
          'a span of another application cannot join this dataset',
        )
      }
    }
    const unique = new Map<string, AppendCandidate>()
    for (const c of candidates) {
      const itemId = deriveItemId(datasetId, c.traceId, c.spanId)
      if (!unique.has(itemId)) unique.set(itemId, c)
    }
    let kept = [...unique.values()]
    let excluded: AppendCandidate[] = []
    let warnings: string[] = []
    if (dataset.kind === 'training' && dataset.excludeDatasetId && kept.length > 0) {
      const overlapping = await items.findOverlapping(
        dataset.excludeDatasetId,
        undefined,
        kept.map((c) => ({ traceId: c.traceId, spanId: c.spanId })),
        kept.map((c) => c.inputsHash),
      )
      const outcome = applyLeakageGuard(kept, footprintOf(overlapping))
      kept = outcome.kept
      excluded = outcome.excluded
      warnings = outcome.warnings
    }
    const { columns, bootstrapped } = resolveColumns(
      dataset.columns,
      kept.map((c) => c.row),
    )
    const known = await versions.list(datasetId)
    const current = currentVersion(known)
    let ids = kept.map((c) => deriveItemId(datasetId, c.traceId, c.spanId))
    const existing = current ? await items.existingIds(datasetId, current.versionId, ids) : new Set<string>()
    let fresh = kept.filter((_, i) => !existing.has(ids[i]!))
    const count = current ? await items.count(datasetId, current.versionId) : 0
    let droppedForCap = 0
    if (upToCap) {
      const room = roomUnderCap({ kind: dataset.kind, current: count, caps })
      if (fresh.length > room) {
        // The first `room` new rows go in; the rest, and only they, are left out.
        const dropped = new Set(fresh.slice(room))
        droppedForCap = dropped.size
        fresh = fresh.slice(0, room)
        ids = ids.filter((_, i) => !dropped.has(kept[i]!))
        kept = kept.filter((c) => !dropped.has(c))
      }
    } else {
      assertWithinCap({ kind: dataset.kind, current: count, adding: fresh.length, caps })
    }

    let versionId = current?.versionId
    if (fresh.length > 0 || ensureDraftAlways) {
      // Everything above only read; from here on it writes, and only while the caller
      // still owns the dataset (an owner that lost it must leave the rest to the next).
      signal?.throwIfAborted()
      const draft = await ensureDraft(datasetId, known)
      versionId = draft.versionId
      const now = clock()
      signal?.throwIfAborted()
      await items.write(
        fresh.map(
          (c): DatasetItem => ({
            datasetId,
            versionId: draft.versionId,
            itemId: deriveItemId(datasetId, c.traceId, c.spanId),
            source: {
              applicationId: c.applicationId,
              traceId: c.traceId,
              spanId: c.spanId,
              spanStartUnixNano: c.spanStartUnixNano,
              kind: c.sourceKind,
              ruleId: c.ruleId,
            },
            ...c.row,
            inputsHash: c.inputsHash,
            redactedFields: c.redactedFields ?? [],
            annotation: null,
            annotationStatus: 'empty',
            feedbackCategory: c.defaults?.feedbackCategory ?? null,
            expectedOutput: null,
            priority: c.defaults?.priority ?? null,
            labels: c.defaults?.labels ?? [],
            createdAt: now.slice(0, 23) + 'Z',
            updatedAt: now,
          }),
        ),
      )
    }
    if (fresh.length > 0) rowsAppended.inc({ kind: dataset.kind }, fresh.length)
    if (bootstrapped) {
      signal?.throwIfAborted()
      await datasets.save({ ...dataset, columns }, clock())
    }

    let purgedFromTraining = 0
    if (dataset.kind === 'eval' && fresh.length > 0) {
      for (const training of await datasets.listExcluding(datasetId)) {
        signal?.throwIfAborted()
        purgedFromTraining += await purgeTraining(training, fresh)
      }
    }
    return {
      datasetId,
      versionId,
      items: kept.map((c, i) => ({
        traceId: c.traceId,
        spanId: c.spanId,
        itemId: ids[i]!,
        added: !existing.has(ids[i]!),
      })),
      excluded: excluded.map((c) => ({ traceId: c.traceId, spanId: c.spanId })),
      warnings,
      purgedFromTraining,
      droppedForCap,
    }
  }

  /** Finds an item in the current version; changes land in the draft (created when needed). */
  async function changeItem(
    dataset: Dataset,
    itemId: string,
    change: (item: DatasetItem) => Promise<DatasetItem>,
  ) {
    const datasetId = dataset.id
    const known = await versions.list(datasetId)
    const current = currentVersion(known)
    const item = current ? await items.get(datasetId, current.versionId, itemId) : undefined
    if (!item) throw new SpansiftError(ErrorCode.notFound, `no item ${itemId} in dataset ${datasetId}`)
    const draft = await ensureDraft(datasetId, known)
    return change({ ...item, versionId: draft.versionId, updatedAt: clock() })
  }

  async function create(input: NewDataset): Promise<Dataset> {
    const taken = await datasets.findByName(input.applicationId, input.name)
    // The same create run again (a redelivered command): it is done.
    if (taken && input.id !== undefined && taken.id === input.id) return taken
    if (taken) {
      throw new SpansiftError(
        ErrorCode.conflict,
        `application ${input.applicationId} has a dataset named "${input.name}": ${taken.id}`,
      )
    }
    const excluded = input.excludeDatasetId ? await datasets.get(input.excludeDatasetId) : undefined
    assertValidExclusion(input, excluded)
    const now = clock()
    const id = input.id ?? randomUUID()
    const dataset: Dataset = {
      id,
      // Derived from a caller-chosen id, so two runs of one create write the same rows.
      groupId: input.id === undefined ? newIntegerId() : integerIdFrom(`${id}/group`),
      applicationId: input.applicationId,
      name: input.name,
      kind: input.kind,
      excludeDatasetId: input.excludeDatasetId,
      columns: [],
      feedbackCategories: input.feedbackCategories ?? [],
      createdAt: now.slice(0, 23) + 'Z',
    }
    // Version row before the dataset row: a visible dataset always has its draft.
    await versions.save(
      {
        datasetId: dataset.id,
        versionId: input.id === undefined ? newIntegerId() : integerIdFrom(`${id}/v1`),
        number: 1,
        status: 'draft',
        createdAt: dataset.createdAt,
        publishedAt: null,
      },
      now,
    )
    await datasets.save(dataset, now)
    // Another process may have created the name at the same moment (no unique constraint
    // in ClickHouse): read it back, and withdraw on a collision. Of two racing creates at
    // least one sees the other, so two never both succeed; both may withdraw, and try
    // again (retryNameRace).
    const named = (await datasets.list(input.applicationId)).filter((d) => d.name === input.name)
    if (named.some((d) => d.id !== dataset.id)) {
      await datasets.markDeleted(dataset, clock())
      throw new NameRaceLostError(
        `another request created a dataset named "${input.name}" in application ${input.applicationId} at the same moment; try again`,
      )
    }
    return dataset
  }

  return {
    // Serialized per application, so a name is checked and taken by one create at a time;
    // and under the excluded eval dataset's lock, so its deletion (which refuses while a
    // training dataset excludes it) and this creation cannot interleave. Always in that
    // order (names, then the eval dataset), so two creates never wait on each other.
    create: (input) =>
      mutex.run(`names:${input.applicationId}`, () =>
        retryNameRace(() =>
          input.excludeDatasetId ? mutex.run(input.excludeDatasetId, () => create(input)) : create(input),
        ),
      ),
    append: (datasetId, candidates, appendOptions) =>
      mutex.run(datasetId, () =>
        append(
          datasetId,
          candidates,
          appendOptions?.ensureDraft ?? false,
          appendOptions?.upToCap ?? false,
          appendOptions?.signal,
        ),
      ),
    // Under the dataset's lock, like every change of its rows, so a row changes against
    // the list as it is, never against one a concurrent PATCH just replaced.
    patchDataset: (datasetId, patch) =>
      mutex.run(datasetId, async () => {
        const dataset = await requireDataset(datasetId)
        const updated: Dataset = {
          ...dataset,
          ...(patch.feedbackCategories === undefined ? {} : { feedbackCategories: patch.feedbackCategories }),
        }
        await datasets.save(updated, clock())
        logger.info('dataset changed', { dataset_id: datasetId, fields: Object.keys(patch) })
        return updated
      }),
    patchItem: (datasetId, itemId, patch) =>
      mutex.run(datasetId, async () => {
        const dataset = await requireDataset(datasetId)
        // Checked by the owner, under the lock, before anything is written (not even a draft).
        assertFeedbackCategoryAllowed(dataset.feedbackCategories, patch.feedbackCategory)
        return changeItem(dataset, itemId, async (item) => {
          const updated: DatasetItem = { ...item }
          for (const [key, value] of Object.entries(patch)) {
            if (value !== undefined) (updated as unknown as Record<string, unknown>)[key] = value
          }
          await items.write([updated])
          return updated
        })
      }),
    deleteItem: (datasetId, itemId) =>
      mutex.run(datasetId, async () => {
        await changeItem(await requireDataset(datasetId), itemId, async (item) => {
          await items.write([item], { deleted: true })
          return item
        })
      }),
    publish: (datasetId) =>
      mutex.run(datasetId, async () => {
        await requireDataset(datasetId)
        const draft = (await versions.list(datasetId)).find((v) => v.status === 'draft')
        if (!draft)
          throw new SpansiftError(
            ErrorCode.conflict,
            'there is no draft to publish: nothing was added since the last publish',
          )
        if ((await items.count(datasetId, draft.versionId)) === 0) {
          throw new SpansiftError(ErrorCode.conflict, 'the draft is empty; add rows before publishing')
        }
        const now = clock()
        const published: DatasetVersion = {
          ...draft,
          status: 'published',
          publishedAt: now.slice(0, 23) + 'Z',
        }
        await versions.save(published, now)
        return published
      }),
    deleteDataset: (datasetId) =>
      mutex.run(datasetId, async () => {
        const dataset = await requireDataset(datasetId)
        if (dataset.kind === 'eval') {
          const dependents = await datasets.listExcluding(datasetId)
          if (dependents.length > 0) {
            throw new SpansiftError(
              ErrorCode.conflict,
              `training datasets exclude this eval dataset: ${dependents.map((d) => d.id).join(', ')}; delete them first`,
            )
          }
        }
        await datasets.markDeleted(dataset, clock())
        await items.deleteDataset(datasetId)
      }),
  }
}
