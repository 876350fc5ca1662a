import type { EvalFootprint } from './leakage.ts'
import { spanKey } from './leakage.ts'

/** The footprint of eval rows: their source spans and non-empty inputs hashes. */
export function footprintOf(
  rows: ReadonlyArray<{ source: { traceId: string; spanId: string }; inputsHash: string }>,
): EvalFootprint {
  return {
    spanKeys: new Set(rows.map((r) => spanKey(r.source.traceId, r.source.spanId))),
    inputsHashes: new Set(rows.map((r) => r.inputsHash).filter((h) => h !== '')),
  }
}
