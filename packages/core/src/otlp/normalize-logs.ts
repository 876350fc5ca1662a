import { CONTENT_EVENT_BODY_KEY, GENAI_EVENT_PREFIX, type SpanContentEvent } from '../span-content-event.ts'
import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { toAttributes, toAttributeValue } from './attributes.ts'
import { bytesToHex, isAllZero } from './hex.ts'
import type { OtlpExportLogsRequest, OtlpLogRecord } from './otlp-logs-types.ts'
import type { OtlpKeyValue } from './otlp-types.ts'
import { logRecordLimitViolation, type SpanLimits } from './span-limits.ts'

/** How normalization decides which application owns the records (as for spans). */
export interface NormalizeLogsOptions {
  /** The application whose key sent the request: authoritative. Absent: the bus stamp is used. */
  applicationId?: string
  /** The time records without one (time and observed time both 0, "unknown") take: when they were received. */
  receivedAtUnixNano?: bigint
  /**
   * The span limits (the receivers pass theirs): a content event over the event limits
   * (see `logRecordLimitViolation`) is rejected. Without them nothing is.
   */
  limits?: SpanLimits
}

/** What a logs export held: the content events to store, and an account of the rest. */
export interface NormalizeLogsResult {
  /** GenAI content events tied to a span: stored and attached to it. */
  events: SpanContentEvent[]
  /** Log records accepted but not stored (not GenAI content events). */
  ignoredRecords: number
  /** Records refused; the OTLP partial-success `rejected_log_records`. */
  rejectedRecords: number
  /** Why, for the partial-success `error_message`: '' when nothing was rejected. */
  rejectionMessage: string
}

/** The attribute older emitters name the event with, before LogRecord.event_name existed. */
const EVENT_NAME_ATTRIBUTE = 'event.name'

const MAX_REASONS_LISTED = 5

/**
 * Picks the GenAI content events out of a decoded logs request. A record is one when its
 * event name (`event_name`, else the `event.name` attribute) starts with `gen_ai.`; it then
 * needs a valid trace id (16 bytes, not all zeros) and span id (8 bytes, not all zeros) to be
 * attached, and must respect `options.limits`; it is rejected with the reason otherwise
 * (partial success, never thrown). Every other record is accepted and counted, not stored: spansift keeps content, not logs.
 */
export function normalizeExportLogsRequest(
  request: OtlpExportLogsRequest,
  options: NormalizeLogsOptions = {},
): NormalizeLogsResult {
  const events: SpanContentEvent[] = []
  const reasons = new Map<string, number>()
  let rejected = 0
  let ignored = 0
  const reject = (reason: string) => {
    rejected++
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
  }
  for (const resourceLogs of request.resourceLogs) {
    const applicationId =
      options.applicationId ??
      stringAttribute(resourceLogs.resource.attributes, APPLICATION_ID_ATTRIBUTE) ??
      ''
    for (const scopeLogs of resourceLogs.scopeLogs) {
      for (const record of scopeLogs.logRecords) {
        const name = eventName(record)
        if (!name.startsWith(GENAI_EVENT_PREFIX)) {
          ignored++
          continue
        }
        if (applicationId === '') {
          reject(`no application id (resource attribute ${APPLICATION_ID_ATTRIBUTE} missing)`)
          continue
        }
        const problem =
          validateIds(record) ?? (options.limits && logRecordLimitViolation(record, name, options.limits))
        if (problem !== undefined) {
          reject(problem)
          continue
        }
        events.push(
          toContentEvent(record, name, applicationId, events.length, options.receivedAtUnixNano ?? 0n),
        )
      }
    }
  }
  return {
    events,
    ignoredRecords: ignored,
    rejectedRecords: rejected,
    rejectionMessage: message(rejected, reasons),
  }
}

function eventName(record: OtlpLogRecord): string {
  if (record.eventName !== '') return record.eventName
  return stringAttribute(record.attributes, EVENT_NAME_ATTRIBUTE) ?? ''
}

function toContentEvent(
  record: OtlpLogRecord,
  name: string,
  applicationId: string,
  sequence: number,
  receivedAt: bigint,
): SpanContentEvent {
  const attributes = toAttributes(record.attributes)
  if (record.body.type !== 'empty') attributes[CONTENT_EVENT_BODY_KEY] = toAttributeValue(record.body)
  return {
    applicationId,
    traceId: bytesToHex(record.traceId),
    spanId: bytesToHex(record.spanId),
    // OTLP: time_unix_nano 0 is "unknown"; the observed time is when the SDK saw it.
    timeUnixNano:
      record.timeUnixNano !== 0n
        ? record.timeUnixNano
        : record.observedTimeUnixNano !== 0n
          ? record.observedTimeUnixNano
          : receivedAt,
    sequence,
    name,
    attributes,
  }
}

function validateIds(record: OtlpLogRecord): string | undefined {
  const { traceId, spanId } = record
  if (traceId.length === 0 || spanId.length === 0)
    return 'a gen_ai event must carry the trace_id and span_id of its span'
  if (traceId.length !== 16) return `trace_id must be 16 bytes (got ${traceId.length})`
  if (isAllZero(traceId)) return 'trace_id must not be all zeros'
  if (spanId.length !== 8) return `span_id must be 8 bytes (got ${spanId.length})`
  if (isAllZero(spanId)) return 'span_id must not be all zeros'
  return undefined
}

function stringAttribute(keyValues: readonly OtlpKeyValue[], key: string): string | undefined {
  let found: string | undefined
  for (const keyValue of keyValues) {
    if (keyValue.key !== key) continue
    found = keyValue.value.type === 'string' && keyValue.value.value !== '' ? keyValue.value.value : undefined
  }
  return found
}

/** e.g. "2 log records rejected: span_id must be 8 bytes (got 4)". */
function message(total: number, reasons: Map<string, number>): string {
  if (total === 0) return ''
  const head = `${total} ${total === 1 ? 'log record' : 'log records'} rejected: `
  if (reasons.size === 1) return head + [...reasons.keys()][0]
  const parts: string[] = []
  for (const [reason, count] of reasons) {
    if (parts.length === MAX_REASONS_LISTED) {
      parts.push(`and ${reasons.size - MAX_REASONS_LISTED} more`)
      break
    }
    parts.push(`${reason} (${count})`)
  }
  return head + parts.join('; ')
}
