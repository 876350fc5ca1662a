import type { Span } from '../span-model.ts'
import type { MappedRow, Priority, SourceKind } from './dataset-model.ts'
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
  /** Annotation values a new row starts with (a rule's defaults); none for API appends. */
  defaults?: AppendDefaults
  /** The fields redaction changed (`inputs.question`, …); none when nothing was redacted. */
  redactedFields?: string[]
}

/** The annotation columns a rule may preset on the rows it appends. */
export interface AppendDefaults {
  priority: Priority | null
  feedbackCategory: string | null
  labels: string[]
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
