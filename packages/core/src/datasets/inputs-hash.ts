import { createHash } from 'node:crypto'
import type { RowBucket } from './dataset-model.ts'

/**
 * A hash of a row's inputs for the "identical inputs" leakage check: SHA-256 of the
 * canonical JSON (keys sorted at every level). Empty inputs hash to '' so that rows
 * without inputs are never taken for duplicates of each other.
 */
export function hashInputs(inputs: RowBucket): string {
  if (Object.keys(inputs).length === 0) return ''
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex')
}

/** JSON with object keys sorted, so equal values have equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
}
