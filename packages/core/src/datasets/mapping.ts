import type { Span } from '../span-model.ts'
import { resolveAttributePath } from './attribute-path.ts'
import type { MappedRow, RowBucket } from './dataset-model.ts'
import { toDatasetValue } from './values.ts'

/** `{bucket: {field_key: attribute_path}}`, the from-spans request's `mapping`. */
export interface DatasetMapping {
  inputs?: Record<string, string> | undefined
  expected_outputs?: Record<string, string> | undefined
  metadata?: Record<string, string> | undefined
  extras?: Record<string, string> | undefined
}

const BUCKETS = ['inputs', 'expected_outputs', 'metadata', 'extras'] as const

/**
 * Maps one span into a row. A field whose path resolves to nothing (or to null) is
 * left out of its bucket rather than stored as null: "no value" and "the value null"
 * are not told apart by spans, and leaving it out lets columns compatibility see
 * exactly the variables this span yields. It is not an error.
 */
export function applyMapping(span: Span, mapping: DatasetMapping): MappedRow {
  const row: MappedRow = { inputs: {}, expected_outputs: {}, metadata: {}, extras: {} }
  for (const bucket of BUCKETS) {
    const fields = mapping[bucket]
    if (!fields) continue
    const target: RowBucket = row[bucket]
    for (const [key, path] of Object.entries(fields)) {
      const value = toDatasetValue(resolveAttributePath(span, path))
      if (value !== undefined) target[key] = value
    }
  }
  return row
}
