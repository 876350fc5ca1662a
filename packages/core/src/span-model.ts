/**
 * The normalized span: what spansift stores, matches rules against and maps into
 * dataset rows, whatever OTLP encoding (protobuf, JSON) or transport it came from.
 */

import type { ExactInteger } from './exact-integer.ts'

/**
 * An attribute value as JSON can carry it. OTLP AnyValue kinds map as:
 * string → string, bool → boolean, double → number, int → number when it is a safe
 * integer and an ExactInteger otherwise (int64 does not fit a JS number; JSON gets its
 * exact digits as a number either way),
 * bytes → base64 string, array → array, kvlist → object. Arrays and kvlists are
 * kept as structures, never flattened into dotted keys.
 */
export type AttributeValue =
  | string
  | number
  | ExactInteger
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue }

/** Attributes by key. Keys keep their OTLP spelling, dots included (`gen_ai.request.model`). */
export type Attributes = Record<string, AttributeValue>

/** OTLP `Span.SpanKind`. */
export const SpanKind = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
} as const
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind]

/** OTLP `Status.StatusCode`. */
export const StatusCode = { unset: 0, ok: 1, error: 2 } as const
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode]

export interface SpanEvent {
  timeUnixNano: bigint
  name: string
  attributes: Attributes
}

export interface SpanLink {
  traceId: string
  spanId: string
  traceState: string
  attributes: Attributes
}

/** The resource attribute that carries the owning application through the bus. */
export const APPLICATION_ID_ATTRIBUTE = 'spansift.application.id'

export interface Span {
  /** The application (UUID) whose key sent the span. */
  applicationId: string
  /** 32 lowercase hex characters (16 bytes). */
  traceId: string
  /** 16 lowercase hex characters (8 bytes). */
  spanId: string
  /** 16 lowercase hex characters, or '' for a root span. */
  parentSpanId: string
  traceState: string
  name: string
  kind: SpanKind
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  /** end − start, never negative. */
  durationNano: bigint
  statusCode: StatusCode
  statusMessage: string
  /** The resource's `service.name`, '' when missing. */
  serviceName: string
  scopeName: string
  scopeVersion: string
  /** Resource attributes, without the `spansift.application.id` stamp. */
  resourceAttributes: Attributes
  attributes: Attributes
  events: SpanEvent[]
  links: SpanLink[]
  flags: number
}
