import { ErrorCode, SpansiftError } from '../error-codes.ts'

/** Above this share of overlapping candidates, an append to a training dataset carries a warning. */
export const LEAKAGE_WARNING_RATIO = 0.25

/** What the leakage check needs of a candidate row. */
export interface LeakageCandidate {
  traceId: string
  spanId: string
  /** '' when the row has no inputs: rows without inputs are never "identical inputs". */
  inputsHash: string
}

/** What the excluded eval dataset holds (every version, deleted rows aside). */
export interface EvalFootprint {
  /** `${traceId}:${spanId}` of its rows' source spans. */
  spanKeys: ReadonlySet<string>
  inputsHashes: ReadonlySet<string>
}

export interface LeakageOutcome<C> {
  kept: C[]
  excluded: C[]
  warnings: string[]
}

/** The key a source span is compared by. */
export function spanKey(traceId: string, spanId: string): string {
  return `${traceId}:${spanId}`
}

/**
 * Splits a training append into the candidates it may hold and those it must not: a
 * candidate whose source span, or whose (non-empty) inputs, are in the eval dataset is
 * excluded. More than 25% excluded warns that the slice is probably too narrow; all of
 * them excluded is refused, since the append would leave nothing.
 */
export function applyLeakageGuard<C extends LeakageCandidate>(
  candidates: readonly C[],
  evalFootprint: EvalFootprint,
): LeakageOutcome<C> {
  const kept: C[] = []
  const excluded: C[] = []
  for (const candidate of candidates) {
    const leaks =
      evalFootprint.spanKeys.has(spanKey(candidate.traceId, candidate.spanId)) ||
      (candidate.inputsHash !== '' && evalFootprint.inputsHashes.has(candidate.inputsHash))
    ;(leaks ? excluded : kept).push(candidate)
  }
  if (candidates.length > 0 && kept.length === 0) {
    throw new SpansiftError(
      ErrorCode.leakageAllExcluded,
      `all ${candidates.length} candidates overlap the excluded eval dataset (same span or identical inputs); the append would leave nothing`,
      { excluded: excluded.length },
    )
  }
  const warnings: string[] = []
  if (candidates.length > 0 && excluded.length / candidates.length > LEAKAGE_WARNING_RATIO) {
    const percent = Math.round((excluded.length / candidates.length) * 100)
    warnings.push(
      `${excluded.length} of ${candidates.length} candidates (${percent}%) overlap the excluded eval dataset and were left out; the training slice is probably too narrow`,
    )
  }
  return { kept, excluded, warnings }
}
