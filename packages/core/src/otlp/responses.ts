import type { OtlpFormat } from './otlp-types.ts'
import { ProtobufWriter } from './protobuf-writer.ts'

/*
 * The response messages, written with the hand-written protobuf writer of the request codec
 * (one protobuf stack in production; the tests decode these with protobufjs loading the
 * .proto files, so the field numbers are held to the contract):
 *   ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1 }
 *   ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2 }
 *   google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }
 *   google.protobuf.Any { string type_url = 1; bytes value = 2 }
 *   google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 }
 *   google.protobuf.Duration { int64 seconds = 1 }
 * Proto3 leaves fields at their default (0, '') out.
 */

/** Encoding is synchronous: one writer serves every call. */
const writer = new ProtobufWriter()

/** The tag of field `field` with wire type `wireType` (0 varint, 2 length-delimited). */
const tag = (field: number, wireType: 0 | 2): number => (field << 3) | wireType

/** The partial-success part of an export response: how many spans were dropped, and why. */
export interface ExportPartialSuccess {
  rejectedSpans: number
  errorMessage: string
}

/**
 * Encodes an `ExportTraceServiceResponse`, the body of a successful OTLP/HTTP export (HTTP 200).
 * Without a partial success (or with an empty one, which OTLP treats the same) the message is
 * empty: zero bytes in protobuf, `{}` in JSON. JSON follows OTLP/JSON: lowerCamelCase keys,
 * `rejectedSpans` (an int64) as a decimal string.
 */
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: 'protobuf',
): Uint8Array
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: 'json',
): string
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string {
  const present =
    partialSuccess !== undefined && (partialSuccess.rejectedSpans !== 0 || partialSuccess.errorMessage !== '')
  if (format === 'json') {
    if (!present) return '{}'
    return JSON.stringify({
      partialSuccess: {
        rejectedSpans: String(partialSuccess.rejectedSpans),
        errorMessage: partialSuccess.errorMessage,
      },
    })
  }
  return encodePartialSuccess(
    present ? partialSuccess.rejectedSpans : undefined,
    partialSuccess?.errorMessage ?? '',
  )
}

/**
 * The protobuf of an export response: field 1 the partial success, whose field 1 is the
 * rejected count (int64) and field 2 the error message, for traces and logs alike. Without
 * `rejected` (no partial success) the message is empty.
 */
function encodePartialSuccess(rejected: number | undefined, errorMessage: string): Uint8Array {
  const w = writer
  w.reset()
  if (rejected !== undefined) {
    w.uint32(tag(1, 2))
    const at = w.beginMessage()
    if (rejected !== 0) {
      w.uint32(tag(1, 0))
      w.int64(BigInt(rejected))
    }
    if (errorMessage !== '') {
      w.uint32(tag(2, 2))
      w.string(errorMessage)
    }
    w.endMessage(at)
  }
  return w.finish()
}

/** The partial-success part of a logs export response. */
export interface ExportLogsPartialSuccess {
  rejectedLogRecords: number
  errorMessage: string
}

/**
 * Encodes an `ExportLogsServiceResponse` (HTTP 200 of `POST /v1/logs`, or the gRPC LogsService
 * answer), as `encodeExportTraceResponse` does for traces: empty without a partial success,
 * `rejectedLogRecords` as a decimal string in JSON. `ExportLogsPartialSuccess` has the field
 * numbers of the traces' (int64 rejected_log_records = 1; string error_message = 2).
 */
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: 'protobuf',
): Uint8Array
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: 'json',
): string
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string {
  const present =
    partialSuccess !== undefined &&
    (partialSuccess.rejectedLogRecords !== 0 || partialSuccess.errorMessage !== '')
  if (format === 'json') {
    if (!present) return '{}'
    return JSON.stringify({
      partialSuccess: {
        rejectedLogRecords: String(partialSuccess.rejectedLogRecords),
        errorMessage: partialSuccess.errorMessage,
      },
    })
  }
  return encodePartialSuccess(
    present ? partialSuccess.rejectedLogRecords : undefined,
    partialSuccess?.errorMessage ?? '',
  )
}

/**
 * Encodes a `google.rpc.Status`, the body OTLP/HTTP requires for 4xx and 5xx responses, in the
 * request's format. `code` is a gRPC status code (e.g. 3 INVALID_ARGUMENT for a malformed body,
 * 14 UNAVAILABLE for back-pressure); `details` is left empty.
 */
export function encodeRpcStatus(code: number, message: string, format: 'protobuf'): Uint8Array
export function encodeRpcStatus(code: number, message: string, format: 'json'): string
export function encodeRpcStatus(code: number, message: string, format: OtlpFormat): Uint8Array | string
export function encodeRpcStatus(code: number, message: string, format: OtlpFormat): Uint8Array | string {
  if (format === 'json') return JSON.stringify({ code, message })
  writer.reset()
  writeStatusFields(code, message)
  return writer.finish()
}

/** The `code` and `message` fields of a `google.rpc.Status`. */
function writeStatusFields(code: number, message: string): void {
  if (code !== 0) {
    writer.uint32(tag(1, 0))
    writer.int32(code)
  }
  if (message !== '') {
    writer.uint32(tag(2, 2))
    writer.string(message)
  }
}

/** The `google.protobuf.Any` type URL of `google.rpc.RetryInfo`, as gRPC clients look it up. */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo'

/**
 * Encodes a `google.rpc.Status` carrying one detail, a `google.rpc.RetryInfo` with
 * `retry_delay` = `retryDelaySeconds`: the `grpc-status-details-bin` trailer of a retryable
 * OTLP/gRPC error. OTLP exporters read the delay from it (the Go exporter retries
 * RESOURCE_EXHAUSTED only when it is there). `code` must equal the call's gRPC status.
 */
export function encodeRetryStatus(code: number, message: string, retryDelaySeconds: number): Uint8Array {
  const w = writer
  w.reset()
  writeStatusFields(code, message)
  w.uint32(tag(3, 2))
  const any = w.beginMessage()
  w.uint32(tag(1, 2))
  w.string(RETRY_INFO_TYPE_URL)
  w.uint32(tag(2, 2))
  const retryInfo = w.beginMessage()
  w.uint32(tag(1, 2))
  const duration = w.beginMessage()
  const seconds = Math.max(0, Math.ceil(retryDelaySeconds))
  if (seconds !== 0) {
    w.uint32(tag(1, 0))
    w.int64(BigInt(seconds))
  }
  w.endMessage(duration)
  w.endMessage(retryInfo)
  w.endMessage(any)
  return w.finish()
}
