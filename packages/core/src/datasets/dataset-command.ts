import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { AppendCandidate } from './append-candidate.ts'
import type {
  AnnotationPatch,
  AppendOptions,
  AppendResult,
  DatasetPatch,
  DatasetWriter,
  NewDataset,
} from './dataset-writer-port.ts'

/**
 * One mutation of a dataset, as data: what a process that does not own a dataset sends
 * to the one that does (see createRoutedDatasetWriter). One variant per DatasetWriter
 * method; `datasetId` decides the owner.
 */
export type DatasetCommand =
  | { op: 'create'; dataset: NewDataset }
  | { op: 'append'; datasetId: string; candidates: readonly AppendCandidate[]; options?: AppendOptions }
  | { op: 'patchDataset'; datasetId: string; patch: DatasetPatch }
  | { op: 'patchItem'; datasetId: string; itemId: string; patch: AnnotationPatch }
  | { op: 'deleteItem'; datasetId: string; itemId: string }
  | { op: 'publish'; datasetId: string }
  | { op: 'deleteDataset'; datasetId: string }

/**
 * The routing key of a command: its dataset. A new dataset has no id yet; its creation is
 * keyed by the eval dataset it excludes (so it is ordered with that dataset's deletion,
 * which refuses while a training dataset excludes it), else by its application.
 */
export function datasetCommandKey(command: DatasetCommand): string {
  if (command.op === 'create') return command.dataset.excludeDatasetId ?? command.dataset.applicationId
  return command.datasetId
}

/** Runs a command on the owner's own writer; resolves with the method's result. */
export function runDatasetCommand(writer: DatasetWriter, command: DatasetCommand): Promise<unknown> {
  switch (command.op) {
    case 'create':
      return writer.create(command.dataset)
    case 'append':
      return writer.append(command.datasetId, command.candidates, command.options)
    case 'patchDataset':
      return writer.patchDataset(command.datasetId, command.patch)
    case 'patchItem':
      return writer.patchItem(command.datasetId, command.itemId, command.patch)
    case 'deleteItem':
      return writer.deleteItem(command.datasetId, command.itemId)
    case 'publish':
      return writer.publish(command.datasetId)
    case 'deleteDataset':
      return writer.deleteDataset(command.datasetId)
  }
}

/** Sends a command to its dataset's owner and resolves with the owner's result, or rejects with its error. */
export type DatasetCommandSender = (command: DatasetCommand) => Promise<unknown>

export interface RoutedDatasetWriterOptions {
  send: DatasetCommandSender
  /**
   * Candidates per command of an `upToCap` append (rules' backfills send pages of
   * thousands): several commands keep each message well under the broker's size limit,
   * and filling up to the cap is per command anyway. All-or-nothing appends (the API's,
   * at most a trace or 200 refs) travel whole.
   */
  maxCandidatesPerCommand?: number
}

/**
 * The DatasetWriter of a process that owns no dataset: every call becomes a command for
 * the dataset's one owner (the member of the appender group holding the dataset's
 * partition), which runs it on its own writer under the dataset's mutex. Callers (the
 * API routes, backfills) see the same results and SpansiftErrors as with a local writer.
 */
export function createRoutedDatasetWriter(options: RoutedDatasetWriterOptions): DatasetWriter {
  const { send } = options
  const perCommand = options.maxCandidatesPerCommand ?? 500

  async function append(
    datasetId: string,
    candidates: readonly AppendCandidate[],
    localOptions?: AppendOptions,
  ): Promise<AppendResult> {
    // The signal stays here: it is checked before each command, and is no data to send.
    const { signal, ...appendOptions } = localOptions ?? {}
    signal?.throwIfAborted()
    if (!appendOptions.upToCap || candidates.length <= perCommand) {
      return (await send({
        op: 'append',
        datasetId,
        candidates,
        ...(localOptions ? { options: appendOptions } : {}),
      })) as AppendResult
    }
    // In order, one after another: the owner fills up to the cap across them as it would in one.
    // A part wholly in the excluded eval dataset is refused alone; as one append it would
    // only be excluded, unless every part is.
    let merged: AppendResult | undefined
    let allExcluded: unknown
    for (let start = 0; start < candidates.length; start += perCommand) {
      const slice = candidates.slice(start, start + perCommand)
      signal?.throwIfAborted()
      let part: AppendResult
      try {
        part = (await send({
          op: 'append',
          datasetId,
          candidates: slice,
          options: appendOptions,
        })) as AppendResult
      } catch (error) {
        if (!(error instanceof SpansiftError && error.code === ErrorCode.leakageAllExcluded)) throw error
        allExcluded = error
        part = {
          datasetId,
          versionId: undefined,
          items: [],
          excluded: slice.map((c) => ({ traceId: c.traceId, spanId: c.spanId })),
          warnings: [],
          purgedFromTraining: 0,
          droppedForCap: 0,
        }
      }
      merged = merged ? mergeAppendResults(merged, part) : part
    }
    if (merged!.items.length === 0 && allExcluded) throw allExcluded
    return merged!
  }

  return {
    // The id is chosen here, once, so an owner running the command twice creates one dataset.
    create: async (dataset) =>
      (await send({
        op: 'create',
        dataset: { ...dataset, id: dataset.id ?? crypto.randomUUID() },
      })) as Awaited<ReturnType<DatasetWriter['create']>>,
    append,
    patchDataset: async (datasetId, patch) =>
      (await send({ op: 'patchDataset', datasetId, patch })) as Awaited<
        ReturnType<DatasetWriter['patchDataset']>
      >,
    patchItem: async (datasetId, itemId, patch) =>
      (await send({ op: 'patchItem', datasetId, itemId, patch })) as Awaited<
        ReturnType<DatasetWriter['patchItem']>
      >,
    deleteItem: async (datasetId, itemId) => {
      await send({ op: 'deleteItem', datasetId, itemId })
    },
    publish: async (datasetId) =>
      (await send({ op: 'publish', datasetId })) as Awaited<ReturnType<DatasetWriter['publish']>>,
    deleteDataset: async (datasetId) => {
      await send({ op: 'deleteDataset', datasetId })
    },
  }
}

function mergeAppendResults(a: AppendResult, b: AppendResult): AppendResult {
  return {
    datasetId: a.datasetId,
    versionId: b.versionId ?? a.versionId,
    items: [...a.items, ...b.items],
    excluded: [...a.excluded, ...b.excluded],
    warnings: [...new Set([...a.warnings, ...b.warnings])],
    purgedFromTraining: a.purgedFromTraining + b.purgedFromTraining,
    droppedForCap: a.droppedForCap + b.droppedForCap,
  }
}
