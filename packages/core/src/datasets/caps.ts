import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { DatasetKind } from './dataset-model.ts'

/** Rows a dataset may hold at most, by kind. */
export type DatasetCaps = Record<DatasetKind, number>

/** The product's caps: eval datasets stay small enough to review and rerun; training ones may be large. */
export const DEFAULT_DATASET_CAPS: DatasetCaps = { eval: 10_000, training: 1_000_000 }

/** How many of `adding` new rows fit under the cap (streaming appends fill up to it). */
export function roomUnderCap(options: { kind: DatasetKind; current: number; caps?: DatasetCaps }): number {
  const cap = (options.caps ?? DEFAULT_DATASET_CAPS)[options.kind]
  return Math.max(0, cap - options.current)
}

/**
 * Refuses an append that would take a dataset past its cap. `current` rows are there,
 * `adding` are new (rows already present are not counted again: re-appending is free).
 * All or nothing: a request is never cut short silently.
 */
export function assertWithinCap(options: {
  kind: DatasetKind
  current: number
  adding: number
  caps?: DatasetCaps
}): void {
  const cap = (options.caps ?? DEFAULT_DATASET_CAPS)[options.kind]
  if (options.adding > 0 && options.current + options.adding > cap) {
    throw new SpansiftError(
      ErrorCode.datasetCapReached,
      `the ${options.kind} dataset cap of ${cap} rows was hit: it holds ${options.current} rows and this would add ${options.adding}; nothing was added`,
      { cap, current: options.current, adding: options.adding },
    )
  }
}
