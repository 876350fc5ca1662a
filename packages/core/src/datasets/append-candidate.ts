import type { Span } from '../span-model.ts'
import type { MappedRow, SourceKind } from './dataset-model.ts'
import { hashInputs } from './inputs-hash.ts'

/** A row someone wants appended: the source span's identity and the mapped values. */
export interface AppendCandidate {
  applicationId: string
  traceId: string
  spanId: string
  spanStartUnixNano: bigint
  sourceKind: SourceKind
  ruleId: string | null
  row: MappedRow
  inputsHash: string
}

/** The candidate a span and its mapped row make. */
export function candidateFromSpan(
  span: Span,
  row: MappedRow,
  source: { kind: SourceKind; ruleId?: string | null },
): AppendCandidate {
  return {
    applicationId: span.applicationId,
    traceId: span.traceId,
    spanId: span.spanId,
    spanStartUnixNano: span.startTimeUnixNano,
    sourceKind: source.kind,
    ruleId: source.ruleId ?? null,
    row,
    inputsHash: hashInputs(row.inputs),
  }
}
