import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { DatasetColumn, MappedRow } from './dataset-model.ts'

/** The buckets that are columns: a row's variables (inputs) and its responses (expected outputs). */
const COLUMN_BUCKETS = ['inputs', 'expected_outputs'] as const

/** The columns a row yields, in the row's key order. */
export function columnsOf(row: MappedRow): DatasetColumn[] {
  return COLUMN_BUCKETS.flatMap((bucket) => Object.keys(row[bucket]).map((name) => ({ name, bucket })))
}

/** `inputs.question`-style name of a column, as errors and exports show it. */
export function columnLabel(column: DatasetColumn): string {
  return `${column.bucket}.${column.name}`
}

/**
 * Decides the columns for an append. A dataset with no columns yet takes the union of
 * the rows' columns (bootstrap, first-seen order). A dataset with columns accepts the
 * rows only if every column a row yields is already one of its columns; otherwise the
 * whole append is refused, naming the missing columns. Metadata and extras are free-form
 * and never make a row incompatible. A row may leave existing columns empty.
 */
export function resolveColumns(
  existing: readonly DatasetColumn[],
  rows: readonly MappedRow[],
): { columns: DatasetColumn[]; bootstrapped: boolean } {
  const yielded = new Map<string, DatasetColumn>()
  for (const row of rows) for (const column of columnsOf(row)) yielded.set(columnLabel(column), column)
  if (existing.length === 0) {
    return { columns: [...yielded.values()], bootstrapped: yielded.size > 0 }
  }
  const known = new Set(existing.map(columnLabel))
  const missing = [...yielded.keys()].filter((label) => !known.has(label))
  if (missing.length > 0) {
    throw new SpansiftError(
      ErrorCode.incompatibleColumns,
      `the dataset has no column for ${missing.join(', ')}; its columns are ${[...known].join(', ')}`,
      { missing_columns: missing, columns: [...known] },
    )
  }
  return { columns: [...existing], bootstrapped: false }
}
