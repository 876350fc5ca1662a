import {
  EMPTY_BYTES,
  emptyResource,
  emptyScope,
  type OtlpAnyValue,
  type OtlpInstrumentationScope,
  type OtlpKeyValue,
  type OtlpResource,
} from './otlp-types.ts'

/**
 * The raw, typed form of an OTLP `ExportLogsServiceRequest` (proto/opentelemetry/proto/logs),
 * as the protobuf and OTLP/JSON decoders produce it and the protobuf encoder writes it back.
 * Like the trace types, every field is always present at its proto3 default.
 */

/** OTLP `LogRecord`. Ids are raw bytes, unvalidated. */
export interface OtlpLogRecord {
  /** When the event happened (fixed64 ns); 0 when unknown. */
  timeUnixNano: bigint
  /** When the record was observed (fixed64 ns); 0 when unset. */
  observedTimeUnixNano: bigint
  severityNumber: number
  severityText: string
  /** The body; `empty` when absent. */
  body: OtlpAnyValue
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
  flags: number
  traceId: Uint8Array
  spanId: Uint8Array
  /** The event's name (field 12, OTLP 1.5+); '' when the record is not an event or predates it. */
  eventName: string
}

/** OTLP `ScopeLogs`. */
export interface OtlpScopeLogs {
  scope: OtlpInstrumentationScope
  logRecords: OtlpLogRecord[]
  schemaUrl: string
}

/** OTLP `ResourceLogs`. */
export interface OtlpResourceLogs {
  resource: OtlpResource
  scopeLogs: OtlpScopeLogs[]
  schemaUrl: string
}

/** OTLP `ExportLogsServiceRequest`, the body of `POST /v1/logs` and of the gRPC LogsService `Export` call. */
export interface OtlpExportLogsRequest {
  resourceLogs: OtlpResourceLogs[]
}

/** A `ResourceLogs` with every field at its proto3 default. */
export function emptyResourceLogs(): OtlpResourceLogs {
  return { resource: emptyResource(), scopeLogs: [], schemaUrl: '' }
}

/** A `ScopeLogs` with every field at its proto3 default. */
export function emptyScopeLogs(): OtlpScopeLogs {
  return { scope: emptyScope(), logRecords: [], schemaUrl: '' }
}

/** A `LogRecord` with every field at its proto3 default. */
export function emptyLogRecord(): OtlpLogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: { type: 'empty', value: null },
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    eventName: '',
  }
}
