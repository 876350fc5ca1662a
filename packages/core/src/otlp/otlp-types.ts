/**
 * The raw, typed form of an OTLP `ExportTraceServiceRequest`: what both decoders (protobuf and
 * OTLP/JSON) produce and what the encoder writes back. It mirrors the wire messages field for
 * field, so a request can be split and re-encoded without losing anything the receiver
 * understands; normalization into `Span` happens later, in `normalize.ts`.
 *
 * Every field is always present (proto3 defaults: '' / 0 / empty array / empty bytes), so
 * consumers never test for `undefined` and every object of one kind has one hidden class.
 */

/** Attribute values as OTLP `AnyValue`, tagged by their oneof case. `empty` is an unset oneof. */
export type OtlpAnyValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  /** int64, kept exact: a JS number cannot hold every int64. */
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'array'; readonly value: OtlpAnyValue[] }
  | { readonly type: 'kvlist'; readonly value: OtlpKeyValue[] }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'empty'; readonly value: null }

/** OTLP `KeyValue`. */
export interface OtlpKeyValue {
  key: string
  value: OtlpAnyValue
}

/** OTLP `EntityRef` (development status upstream; carried through untouched). */
export interface OtlpEntityRef {
  schemaUrl: string
  type: string
  idKeys: string[]
  descriptionKeys: string[]
}

/** OTLP `Resource`. */
export interface OtlpResource {
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
  entityRefs: OtlpEntityRef[]
}

/** OTLP `InstrumentationScope`. */
export interface OtlpInstrumentationScope {
  name: string
  version: string
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
}

/** OTLP `Span.Event`. */
export interface OtlpSpanEvent {
  /** Nanoseconds since the Unix epoch (fixed64). */
  timeUnixNano: bigint
  name: string
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
}

/** OTLP `Span.Link`. */
export interface OtlpSpanLink {
  traceId: Uint8Array
  spanId: Uint8Array
  traceState: string
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
  flags: number
}

/** OTLP `Status`. `code` is the raw enum number (0 unset, 1 ok, 2 error; others kept as sent). */
export interface OtlpStatus {
  message: string
  code: number
}

/** OTLP `Span`. Ids are raw bytes, unvalidated: normalization decides what is acceptable. */
export interface OtlpSpan {
  traceId: Uint8Array
  spanId: Uint8Array
  traceState: string
  /** Empty for a root span. */
  parentSpanId: Uint8Array
  flags: number
  name: string
  /** Raw `SpanKind` enum number (unknown values kept as sent). */
  kind: number
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  attributes: OtlpKeyValue[]
  droppedAttributesCount: number
  events: OtlpSpanEvent[]
  droppedEventsCount: number
  links: OtlpSpanLink[]
  droppedLinksCount: number
  status: OtlpStatus
}

/** OTLP `ScopeSpans`. */
export interface OtlpScopeSpans {
  scope: OtlpInstrumentationScope
  spans: OtlpSpan[]
  schemaUrl: string
}

/** OTLP `ResourceSpans`. */
export interface OtlpResourceSpans {
  resource: OtlpResource
  scopeSpans: OtlpScopeSpans[]
  schemaUrl: string
}

/** OTLP `ExportTraceServiceRequest`, the body of `POST /v1/traces` and of the gRPC `Export` call. */
export interface OtlpExportTraceRequest {
  resourceSpans: OtlpResourceSpans[]
}

/** The two OTLP/HTTP body encodings. */
export type OtlpFormat = 'protobuf' | 'json'

/** The shared zero-length id, for absent `bytes` fields (never written to). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

// The proto3 defaults of each message, as both decoders start from them: one place, so a
// field added to a message cannot be forgotten in one decoder.

/** An `InstrumentationScope` with every field at its proto3 default. */
export function emptyScope(): OtlpInstrumentationScope {
  return { name: '', version: '', attributes: [], droppedAttributesCount: 0 }
}

/** A `Resource` with every field at its proto3 default. */
export function emptyResource(): OtlpResource {
  return { attributes: [], droppedAttributesCount: 0, entityRefs: [] }
}

/** A `ResourceSpans` with every field at its proto3 default. */
export function emptyResourceSpans(): OtlpResourceSpans {
  return { resource: emptyResource(), scopeSpans: [], schemaUrl: '' }
}

/** A `ScopeSpans` with every field at its proto3 default. */
export function emptyScopeSpans(): OtlpScopeSpans {
  return { scope: emptyScope(), spans: [], schemaUrl: '' }
}

/** A `Span` with every field at its proto3 default. */
export function emptySpan(): OtlpSpan {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: '',
    parentSpanId: EMPTY_BYTES,
    flags: 0,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { message: '', code: 0 },
  }
}

/** A `Span.Event` with every field at its proto3 default. */
export function emptySpanEvent(): OtlpSpanEvent {
  return { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 }
}

/** A `Span.Link` with every field at its proto3 default. */
export function emptySpanLink(): OtlpSpanLink {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: '',
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
  }
}
