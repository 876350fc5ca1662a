/**
 * The OTLP trace decoding layer: wire bytes or OTLP/JSON in, typed requests and span-model
 * spans out, plus the encodings the receiver answers with. Pure functions, no I/O.
 */
export { OtlpDecodeError } from './decode-error.ts'
export { decodeExportTraceRequestJson } from './decode-json.ts'
export { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
export { encodeExportTraceRequestJson } from './encode-json.ts'
export { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
export { bytesToHex, hexToBytes } from './hex.ts'
export { type NormalizeOptions, type NormalizeResult, normalizeExportTraceRequest } from './normalize.ts'
export type * from './otlp-types.ts'
export { type ExportPartialSuccess, encodeExportTraceResponse, encodeRpcStatus } from './responses.ts'
export { splitByTrace, type TraceRequest } from './split-by-trace.ts'
