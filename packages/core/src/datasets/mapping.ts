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

/**
 * The mapping's fields (`inputs.question`, …) that resolved to nothing in every one of
 * `rows` (mapped with that mapping): most likely a path no span records, or content the
 * instrumentation never sent (content capture off, content sent as log records that did
 * not arrive). [] when there are no rows.
 */
export function unresolvedMappingFields(mapping: DatasetMapping, rows: readonly MappedRow[]): string[] {
  if (rows.length === 0) return []
  const fields: string[] = []
  for (const bucket of BUCKETS) {
    for (const key of Object.keys(mapping[bucket] ?? {})) {
      if (!rows.some((row) => Object.hasOwn(row[bucket], key))) fields.push(`${bucket}.${key}`)
    }
  }
  return fields
}

/** The warning for unresolved mapping fields, undefined when there are none. */
export function unresolvedMappingWarning(
  mapping: DatasetMapping,
  fields: readonly string[],
  rowCount: number,
): string | undefined {
  if (fields.length === 0) return undefined
  const named = fields.map((f) => {
    const [bucket, key] = f.split(/\.(.*)/s) as [keyof DatasetMapping, string]
    return `${f} (${mapping[bucket]?.[key]})`
  })
  return `mapping resolved to nothing in all ${rowCount} row${rowCount === 1 ? '' : 's'}: ${named.join(', ')}`
}
