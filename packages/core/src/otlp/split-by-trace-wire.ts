import { Buffer } from 'node:buffer'
import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { OtlpDecodeError } from './decode-error.ts'
import { idsViolation } from './normalize.ts'
import { MAX_NESTING_DEPTH, ProtobufReader } from './protobuf-reader.ts'
import { type SpanLimits, spanHeadViolation, spanLimitMessage } from './span-limits.ts'
import { SpanRejections } from './span-rejections.ts'

/** One trace of a split export: the Kafka record the bus publishes for it. */
export interface WireTrace {
  /** The trace id in lowercase hex (the record key). */
  traceId: string
  /** An ExportTraceServiceRequest holding only this trace's spans, stamped with the application. */
  value: Buffer
  /** How many spans it holds. */
  spans: number
}

/** What `splitExportTraceRequestByTrace` needs: who sent the export, and the per-span limits. */
export interface WireSplitOptions {
  /** The application whose key sent the export: stamped on every resource, replacing any client-sent stamp. */
  applicationId: string
  limits: SpanLimits
  /** The current time in Unix ms, for the time window (`Date.now()` by default). */
  nowMs?: number
}

/** The traces of an export, and an account of the spans left out (as `normalizeExportTraceRequest` gives it). */
export interface WireSplitResult {
  traces: WireTrace[]
  acceptedSpans: number
  rejectedSpans: number
  rejectionMessage: string
}

/**
 * Splits a protobuf ExportTraceServiceRequest by trace without decoding it into objects:
 * the wire form is scanned (checked exactly as `decodeExportTraceRequestProtobuf` checks it,
 * with the same reader calls in the same places), the spans are checked as
 * `normalizeExportTraceRequest` checks them (ids, timestamps, `limits`; same reasons), and
 * each trace becomes one request made of copied byte ranges: the resource (every
 * `spansift.application.id` attribute the client sent left out, the stamp appended), the
 * scope, and the spans verbatim (unknown fields included). Decoding and normalizing one of
 * these requests gives the spans the decode path gives (the property test checks it).
 * Resource and scope schema URLs are not copied: spans do not keep them.
 *
 * Why: on the distributed receiver this replaces decode, normalize, re-encode per trace,
 * which cost about twice the Collector's CPU per span (issue 13; figures in
 * docs/architecture.md).
 *
 * @throws OtlpDecodeError when the bytes are not a well-formed message.
 */
export function splitExportTraceRequestByTrace(
  bytes: Uint8Array,
  options: WireSplitOptions,
): WireSplitResult {
  const scan = new WireScan(bytes, options)
  scan.scanRequest()
  return scan.result()
}

/** Spans of one trace, in wire order: (field start, field end, resource index, scope index) per span. */
interface TraceSpans {
  entries: number[]
}

class WireScan {
  private readonly r: ProtobufReader
  private readonly text: Buffer
  private readonly limits: SpanLimits
  private readonly nowMs: number
  private readonly applicationId: string
  private readonly stampField: Buffer
  private readonly rejections = new SpanRejections()
  private readonly traces = new Map<string, TraceSpans>()
  private accepted = 0
  /** Per resource: [start, end) content ranges of the request (the stamp is added on output). */
  private readonly resourcePieces: number[][] = []
  /** Per scope: [start, end) content ranges of its InstrumentationScope occurrences (proto3 merges them). */
  private readonly scopePieces: number[][] = []
  // The last KeyValue's key range, set by scanKeyValue on return.
  private keyStart = 0
  private keyEnd = 0
  // Facts about the span being scanned.
  private traceIdStart = 0
  private traceIdEnd = 0
  private spanIdStart = 0
  private spanIdEnd = 0
  private parentStart = 0
  private parentEnd = 0
  private nameStart = 0
  private nameEnd = 0
  private startTime = 0n
  private endTime = 0n
  private attributeCount = 0
  private eventCount = 0
  private linkCount = 0
  private eventOverCount = -1
  private linkOverCount = -1
  private longKey: string | undefined
  private longEventKey: string | undefined
  private longLinkKey: string | undefined

  constructor(bytes: Uint8Array, options: WireSplitOptions) {
    this.r = new ProtobufReader(bytes)
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.limits = options.limits
    this.nowMs = options.nowMs ?? Date.now()
    this.applicationId = options.applicationId
    this.stampField = stampField(options.applicationId)
  }

  scanRequest(): void {
    const r = this.r
    const end = r.len
    while (r.pos < end) {
      const tag = r.tag()
      if (tag === 10) this.scanResourceSpans(r.lengthDelimitedEnd(end))
      else r.skip(tag, end)
    }
    r.expectEnd(end)
  }

  private scanResourceSpans(end: number): void {
    const r = this.r
    const resource = this.resourcePieces.length
    const pieces: number[] = []
    this.resourcePieces.push(pieces)
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 10:
          this.scanResource(r.lengthDelimitedEnd(end), pieces)
          break
        case 18:
          this.scanScopeSpans(r.lengthDelimitedEnd(end), resource)
          break
        case 26:
          r.pos = r.lengthDelimitedEnd(end)
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
  }

  /** Validates a Resource and records its content ranges, leaving out client-sent stamps. */
  private scanResource(end: number, pieces: number[]): void {
    const r = this.r
    let pieceStart = r.pos
    while (r.pos < end) {
      const fieldStart = r.pos
      const tag = r.tag()
      switch (tag) {
        case 10:
          this.scanKeyValue(r.lengthDelimitedEnd(end), 0, Number.POSITIVE_INFINITY)
          if (this.keyIs(APPLICATION_ID_BYTES)) {
            if (fieldStart > pieceStart) pieces.push(pieceStart, fieldStart)
            pieceStart = r.pos
          }
          break
        case 16:
          r.uint32()
          break
        case 26:
          this.scanEntityRef(r.lengthDelimitedEnd(end))
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
    if (end > pieceStart) pieces.push(pieceStart, end)
  }

  private scanEntityRef(end: number): void {
    const r = this.r
    while (r.pos < end) {
      const tag = r.tag()
      if (tag === 10 || tag === 18 || tag === 26 || tag === 34) r.pos = r.lengthDelimitedEnd(end)
      else r.skip(tag, end)
    }
    r.expectEnd(end)
  }

  private scanScopeSpans(end: number, resource: number): void {
    const r = this.r
    const scope = this.scopePieces.length
    const pieces: number[] = []
    this.scopePieces.push(pieces)
    while (r.pos < end) {
      const fieldStart = r.pos
      const tag = r.tag()
      switch (tag) {
        case 10: {
          const stop = r.lengthDelimitedEnd(end)
          if (stop > r.pos) pieces.push(r.pos, stop)
          this.scanScope(stop)
          break
        }
        case 18: {
          const stop = r.lengthDelimitedEnd(end)
          this.scanSpan(stop)
          this.decide(fieldStart, stop, resource, scope)
          break
        }
        case 26:
          r.pos = r.lengthDelimitedEnd(end)
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
  }

  private scanScope(end: number): void {
    const r = this.r
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 10:
        case 18:
          r.pos = r.lengthDelimitedEnd(end)
          break
        case 26:
          this.scanKeyValue(r.lengthDelimitedEnd(end), 0, Number.POSITIVE_INFINITY)
          break
        case 32:
          r.uint32()
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
  }

  private scanSpan(end: number): void {
    const r = this.r
    const max = this.limits.attributeValueLength
    this.traceIdStart = this.traceIdEnd = 0
    this.spanIdStart = this.spanIdEnd = 0
    this.parentStart = this.parentEnd = 0
    this.nameStart = this.nameEnd = 0
    this.startTime = this.endTime = 0n
    this.attributeCount = this.eventCount = this.linkCount = 0
    this.eventOverCount = this.linkOverCount = -1
    this.longKey = this.longEventKey = this.longLinkKey = undefined
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 10:
          this.traceIdEnd = r.lengthDelimitedEnd(end)
          this.traceIdStart = r.pos
          r.pos = this.traceIdEnd
          break
        case 18:
          this.spanIdEnd = r.lengthDelimitedEnd(end)
          this.spanIdStart = r.pos
          r.pos = this.spanIdEnd
          break
        case 26:
          r.pos = r.lengthDelimitedEnd(end)
          break
        case 34:
          this.parentEnd = r.lengthDelimitedEnd(end)
          this.parentStart = r.pos
          r.pos = this.parentEnd
          break
        case 42:
          this.nameEnd = r.lengthDelimitedEnd(end)
          this.nameStart = r.pos
          r.pos = this.nameEnd
          break
        case 48:
          r.int32()
          break
        case 57:
          this.startTime = r.fixed64(end)
          break
        case 65:
          this.endTime = r.fixed64(end)
          break
        case 74:
          this.attributeCount++
          if (this.scanKeyValue(r.lengthDelimitedEnd(end), 0, max) && this.longKey === undefined)
            this.longKey = this.key()
          break
        case 80:
        case 96:
        case 112:
          r.uint32()
          break
        case 90:
          this.eventCount++
          this.scanEvent(r.lengthDelimitedEnd(end), max)
          break
        case 106:
          this.linkCount++
          this.scanLink(r.lengthDelimitedEnd(end), max)
          break
        case 122:
          this.scanStatus(r.lengthDelimitedEnd(end))
          break
        case 133:
          r.fixed32(end)
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
  }

  private scanEvent(end: number, max: number): void {
    const r = this.r
    let count = 0
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 9:
          r.fixed64(end)
          break
        case 18:
          r.pos = r.lengthDelimitedEnd(end)
          break
        case 26:
          count++
          if (this.scanKeyValue(r.lengthDelimitedEnd(end), 0, max) && this.longEventKey === undefined)
            this.longEventKey = this.key()
          break
        case 32:
          r.uint32()
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
    if (count > this.limits.eventAttributeCount && this.eventOverCount === -1) this.eventOverCount = count
  }

  private scanLink(end: number, max: number): void {
    const r = this.r
    let count = 0
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 10:
        case 18:
        case 26:
          r.pos = r.lengthDelimitedEnd(end)
          break
        case 34:
          count++
          if (this.scanKeyValue(r.lengthDelimitedEnd(end), 0, max) && this.longLinkKey === undefined)
            this.longLinkKey = this.key()
          break
        case 40:
          r.uint32()
          break
        case 53:
          r.fixed32(end)
          break
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
    if (count > this.limits.linkAttributeCount && this.linkOverCount === -1) this.linkOverCount = count
  }

  private scanStatus(end: number): void {
    const r = this.r
    while (r.pos < end) {
      const tag = r.tag()
      if (tag === 18) r.pos = r.lengthDelimitedEnd(end)
      else if (tag === 24) r.int32()
      else r.skip(tag, end)
    }
    r.expectEnd(end)
  }

  /** Validates a KeyValue; true when its value is longer than `max` (see `isLonger` in span-limits.ts). */
  private scanKeyValue(end: number, depth: number, max: number): boolean {
    const r = this.r
    let keyStart = 0
    let keyEnd = 0
    let longer = false
    while (r.pos < end) {
      const tag = r.tag()
      if (tag === 10) {
        keyEnd = r.lengthDelimitedEnd(end)
        keyStart = r.pos
        r.pos = keyEnd
      } else if (tag === 18) longer = this.scanAnyValue(r.lengthDelimitedEnd(end), depth, max)
      else r.skip(tag, end)
    }
    r.expectEnd(end)
    // Set last: a kvlist inside the value scans KeyValues of its own.
    this.keyStart = keyStart
    this.keyEnd = keyEnd
    return longer
  }

  private scanAnyValue(end: number, depth: number, max: number): boolean {
    const r = this.r
    // Last oneof case on the wire wins, as in the decoder.
    let longer = false
    while (r.pos < end) {
      const tag = r.tag()
      switch (tag) {
        case 10: {
          const stop = r.lengthDelimitedEnd(end)
          // A UTF-8 byte decodes to at most one UTF-16 unit, so only a long byte run can be too long.
          longer = stop - r.pos > max && this.text.toString('utf8', r.pos, stop).length > max
          r.pos = stop
          break
        }
        case 16:
          r.bool()
          longer = false
          break
        case 24:
          r.int64()
          longer = false
          break
        case 33:
          r.double(end)
          longer = false
          break
        case 42:
          longer = this.scanRepeatedValues(r.lengthDelimitedEnd(end), depth + 1, max, this.scanAnyValue)
          break
        case 50:
          longer = this.scanRepeatedValues(r.lengthDelimitedEnd(end), depth + 1, max, this.scanKeyValue)
          break
        case 58: {
          const stop = r.lengthDelimitedEnd(end)
          longer = stop - r.pos > max
          r.pos = stop
          break
        }
        default:
          r.skip(tag, end)
      }
    }
    r.expectEnd(end)
    return longer
  }

  /**
   * An ArrayValue (its `values`) or a KeyValueList (its `values`): field 1 repeated, each
   * element scanned by `element`; true when any holds a string longer than `max`.
   */
  private scanRepeatedValues(
    end: number,
    depth: number,
    max: number,
    element: (end: number, depth: number, max: number) => boolean,
  ): boolean {
    if (depth > MAX_NESTING_DEPTH)
      throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_NESTING_DEPTH}`)
    const r = this.r
    let longer = false
    while (r.pos < end) {
      const tag = r.tag()
      if (tag === 10) {
        if (element.call(this, r.lengthDelimitedEnd(end), depth, max)) longer = true
      } else r.skip(tag, end)
    }
    r.expectEnd(end)
    return longer
  }

  private key(): string {
    return this.text.toString('utf8', this.keyStart, this.keyEnd)
  }

  private keyIs(expected: Uint8Array): boolean {
    const length = this.keyEnd - this.keyStart
    if (length !== expected.length) return false
    const buf = this.r.buf
    for (let i = 0; i < length; i++) if (buf[this.keyStart + i] !== expected[i]) return false
    return true
  }

  /** Keeps the span just scanned (its field is [fieldStart, fieldEnd)) or counts it rejected. */
  private decide(fieldStart: number, fieldEnd: number, resource: number, scope: number): void {
    const problem = this.applicationId === '' ? 'no application id (empty)' : this.violation()
    if (problem !== undefined) {
      this.rejections.add(problem, 1)
      return
    }
    const traceId = this.text.toString('hex', this.traceIdStart, this.traceIdEnd)
    let trace = this.traces.get(traceId)
    if (trace === undefined) {
      trace = { entries: [] }
      this.traces.set(traceId, trace)
    }
    trace.entries.push(fieldStart, fieldEnd, resource, scope)
    this.accepted++
  }

  /** The checks of `normalizeExportTraceRequest`, in its order, on the facts the scan gathered. */
  private violation(): string | undefined {
    const buf = this.r.buf
    const ids = idsViolation(
      buf.subarray(this.traceIdStart, this.traceIdEnd),
      buf.subarray(this.spanIdStart, this.spanIdEnd),
      buf.subarray(this.parentStart, this.parentEnd),
    )
    if (ids !== undefined) return ids
    const limits = this.limits
    let nameLength = this.nameEnd - this.nameStart
    // Bytes bound UTF-16 units from above: decode only a name that might be too long.
    if (nameLength > limits.nameLength)
      nameLength = this.text.toString('utf8', this.nameStart, this.nameEnd).length
    const head = spanHeadViolation(
      this.startTime,
      this.endTime,
      nameLength,
      this.attributeCount,
      this.eventCount,
      this.linkCount,
      limits,
      this.nowMs,
    )
    if (head !== undefined) return head
    if (this.eventOverCount !== -1) return spanLimitMessage.eventAttributeCount(limits, this.eventOverCount)
    if (this.linkOverCount !== -1) return spanLimitMessage.linkAttributeCount(limits, this.linkOverCount)
    const max = limits.attributeValueLength
    if (this.longKey !== undefined) return spanLimitMessage.longValue('attribute', this.longKey, max)
    if (this.longEventKey !== undefined)
      return spanLimitMessage.longValue('event attribute', this.longEventKey, max)
    if (this.longLinkKey !== undefined)
      return spanLimitMessage.longValue('link attribute', this.longLinkKey, max)
    return undefined
  }

  result(): WireSplitResult {
    const traces: WireTrace[] = []
    for (const [traceId, trace] of this.traces) {
      traces.push({ traceId, value: this.encodeTrace(trace.entries), spans: trace.entries.length / 4 })
    }
    return {
      traces,
      acceptedSpans: this.accepted,
      rejectedSpans: this.rejections.total,
      rejectionMessage: this.rejections.message(),
    }
  }

  /**
   * One ExportTraceServiceRequest: a ResourceSpans per resource the trace's spans came
   * from, a ScopeSpans per scope, the spans copied. Entries are in wire order, so a
   * resource's and a scope's spans are contiguous. Sizes first, then one exact write.
   */
  private encodeTrace(entries: number[]): Buffer {
    // Lengths of each resource group's and scope group's content, in order.
    const lengths: number[] = []
    let total = 0
    for (let i = 0; i < entries.length; ) {
      const resource = entries[i + 2]!
      const resourceSlot = lengths.length
      lengths.push(0)
      const resourceContent = this.resourceLength(resource)
      let resourceLength = fieldLength(resourceContent)
      while (i < entries.length && entries[i + 2] === resource) {
        const scope = entries[i + 3]!
        const scopeSlot = lengths.length
        lengths.push(0)
        const scopeContent = piecesLength(this.scopePieces[scope]!)
        let scopeLength = scopeContent > 0 ? fieldLength(scopeContent) : 0
        while (i < entries.length && entries[i + 3] === scope) {
          scopeLength += entries[i + 1]! - entries[i]!
          i += 4
        }
        lengths[scopeSlot] = scopeLength
        resourceLength += fieldLength(scopeLength)
      }
      lengths[resourceSlot] = resourceLength
      total += fieldLength(resourceLength)
    }
    const out = Buffer.allocUnsafe(total)
    const src = this.text
    let pos = 0
    let slot = 0
    for (let i = 0; i < entries.length; ) {
      const resource = entries[i + 2]!
      pos = writeHeader(out, pos, 10, lengths[slot++]!)
      pos = writeHeader(out, pos, 10, this.resourceLength(resource))
      pos = copyPieces(src, this.resourcePieces[resource]!, out, pos)
      pos += this.stampField.copy(out, pos)
      while (i < entries.length && entries[i + 2] === resource) {
        const scope = entries[i + 3]!
        pos = writeHeader(out, pos, 18, lengths[slot++]!)
        const scopePieces = this.scopePieces[scope]!
        const scopeContent = piecesLength(scopePieces)
        if (scopeContent > 0) {
          pos = writeHeader(out, pos, 10, scopeContent)
          pos = copyPieces(src, scopePieces, out, pos)
        }
        while (i < entries.length && entries[i + 3] === scope) {
          pos += src.copy(out, pos, entries[i]!, entries[i + 1]!)
          i += 4
        }
      }
    }
    if (pos !== total) throw new Error(`wire split wrote ${pos} bytes of ${total}`)
    return out
  }

  private resourceLength(resource: number): number {
    return piecesLength(this.resourcePieces[resource]!) + this.stampField.length
  }
}

const APPLICATION_ID_BYTES = new Uint8Array(Buffer.from(APPLICATION_ID_ATTRIBUTE))

/** The Resource field `attributes` holding `spansift.application.id` = `applicationId`. */
function stampField(applicationId: string): Buffer {
  const key = Buffer.from(APPLICATION_ID_ATTRIBUTE)
  const value = Buffer.from(applicationId)
  const anyValueLength = fieldLength(value.length)
  const keyValueLength = fieldLength(key.length) + fieldLength(anyValueLength)
  const out = Buffer.allocUnsafe(fieldLength(keyValueLength))
  let pos = writeHeader(out, 0, 10, keyValueLength)
  pos = writeHeader(out, pos, 10, key.length)
  pos += key.copy(out, pos)
  pos = writeHeader(out, pos, 18, anyValueLength)
  pos = writeHeader(out, pos, 10, value.length)
  value.copy(out, pos)
  return out
}

function piecesLength(pieces: number[]): number {
  let length = 0
  for (let i = 0; i < pieces.length; i += 2) length += pieces[i + 1]! - pieces[i]!
  return length
}

function copyPieces(src: Buffer, pieces: number[], out: Buffer, pos: number): number {
  let at = pos
  for (let i = 0; i < pieces.length; i += 2) at += src.copy(out, at, pieces[i]!, pieces[i + 1]!)
  return at
}

/** Bytes a length-delimited field with a one-byte tag takes, content included. */
function fieldLength(contentLength: number): number {
  return 1 + varintSize(contentLength) + contentLength
}

function varintSize(value: number): number {
  let size = 1
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size++
  return size
}

/** Writes a one-byte tag and a length varint; returns the position after them. */
function writeHeader(out: Buffer, pos: number, tag: number, length: number): number {
  let at = pos
  out[at++] = tag
  let v = length
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  out[at++] = v
  return at
}
