import { ErrorCode, SpansiftError } from '../error-codes.ts'
import type { AttributeValue, Span } from '../span-model.ts'
import { resolveAttributePath, resolveSemanticAlias } from './attribute-path.ts'
import type { MappedRow } from './dataset-model.ts'
import { toDatasetValue } from './values.ts'

/** How add-trace anchored the row. */
export const AddTraceMode = { trace: 'trace', span: 'span' } as const
export type AddTraceMode = (typeof AddTraceMode)[keyof typeof AddTraceMode]

export interface TraceRow {
  mode: AddTraceMode
  anchor: Span
  row: MappedRow
}

/** The span's messages (the `input` / `output` aliases: every convention, as the message model). */
const inputOf = (span: Span) => resolveSemanticAlias(span, 'input')
const outputOf = (span: Span) => resolveSemanticAlias(span, 'output')
/** What a child contributes: its answer's text, else its output messages. */
const childOutput = (span: Span) => resolveSemanticAlias(span, 'output_text') ?? outputOf(span)

/**
 * Builds the add-trace row from a trace's spans.
 *
 * Trace mode (no `spanId`): the anchor is the earliest root span (no parent; when the
 * root was never received, the earliest span whose parent is missing). Columns:
 * `inputs.input` and `expected_outputs.output`, the anchor's `input` / `output` message
 * lists (rules/semantic-fields.ts: every convention); a root that carries none (a workflow span) borrows the input of the
 * earliest span that has one and the output of the latest-ending span that has one.
 *
 * Span mode: the anchor is the chosen span; its input and output, plus one input
 * column per direct child, named by the child's span name (`name #2` for repeats),
 * holding the child's answer text (else its output messages, else its attributes).
 *
 * Metadata in both: trace and span ids, span name, service, model, status, duration.
 */
export function buildTraceRow(spans: readonly Span[], spanId?: string): TraceRow {
  if (spans.length === 0) throw new SpansiftError(ErrorCode.notFound, 'the trace has no stored spans')
  const ordered = [...spans].sort((a, b) =>
    a.startTimeUnixNano === b.startTimeUnixNano
      ? a.spanId.localeCompare(b.spanId)
      : a.startTimeUnixNano < b.startTimeUnixNano
        ? -1
        : 1,
  )
  const row: MappedRow = { inputs: {}, expected_outputs: {}, metadata: {}, extras: {} }
  let anchor: Span
  let mode: AddTraceMode
  if (spanId === undefined) {
    mode = AddTraceMode.trace
    const ids = new Set(ordered.map((s) => s.spanId))
    anchor = ordered.find((s) => s.parentSpanId === '') ?? ordered.find((s) => !ids.has(s.parentSpanId))!
    const input = inputOf(anchor) ?? ordered.map(inputOf).find(present)
    const byEnd = [...ordered].sort((a, b) => (a.endTimeUnixNano < b.endTimeUnixNano ? 1 : -1))
    const output = outputOf(anchor) ?? byEnd.map(outputOf).find(present)
    put(row.inputs, 'input', input)
    put(row.expected_outputs, 'output', output)
  } else {
    mode = AddTraceMode.span
    const chosen = ordered.find((s) => s.spanId === spanId)
    if (!chosen) throw new SpansiftError(ErrorCode.notFound, `the trace has no span ${spanId}`)
    anchor = chosen
    put(row.inputs, 'input', inputOf(anchor))
    put(row.expected_outputs, 'output', outputOf(anchor))
    const seen = new Map<string, number>()
    for (const child of ordered.filter((s) => s.parentSpanId === anchor.spanId)) {
      const count = (seen.get(child.name) ?? 0) + 1
      seen.set(child.name, count)
      const column = count === 1 ? child.name : `${child.name} #${count}`
      put(row.inputs, column, childOutput(child) ?? child.attributes)
    }
  }
  put(row.metadata, 'trace_id', anchor.traceId)
  put(row.metadata, 'span_id', anchor.spanId)
  put(row.metadata, 'span_name', anchor.name)
  put(row.metadata, 'service_name', anchor.serviceName || undefined)
  put(row.metadata, 'model', resolveSemanticAlias(anchor, 'model'))
  put(row.metadata, 'status', resolveAttributePath(anchor, 'span.status'))
  put(row.metadata, 'duration_ns', resolveAttributePath(anchor, 'span.duration_ns'))
  return { mode, anchor, row }
}

function present(value: AttributeValue | undefined): value is AttributeValue {
  return value !== undefined
}

function put(bucket: Record<string, unknown>, key: string, value: AttributeValue | undefined): void {
  const cell = toDatasetValue(value)
  if (cell !== undefined) bucket[key] = cell
}
