import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { Dataset, DatasetKind } from './dataset-model.ts'

/**
 * Checks the dataset a new dataset would exclude: only a training dataset excludes,
 * and only an eval dataset of its own application. `excluded` is the lookup result
 * (undefined when no such dataset exists); a dataset of another application is
 * refused with the same words as a missing one, so existence does not leak.
 */
export function assertValidExclusion(
  dataset: { kind: DatasetKind; applicationId: string; excludeDatasetId: string | null },
  excluded: Dataset | undefined,
): void {
  if (dataset.excludeDatasetId === null) return
  if (dataset.kind !== 'training') {
    throw new SpansiftError(ErrorCode.invalidArgument, 'only a training dataset may name exclude_dataset_id')
  }
  if (!excluded || excluded.applicationId !== dataset.applicationId) {
    throw new SpansiftError(
      ErrorCode.invalidArgument,
      `exclude_dataset_id ${dataset.excludeDatasetId} names no dataset of this application`,
    )
  }
  if (excluded.kind !== 'eval') {
    throw new SpansiftError(
      ErrorCode.invalidArgument,
      `exclude_dataset_id must name an eval dataset; ${excluded.id} is a ${excluded.kind} dataset`,
    )
  }
}
