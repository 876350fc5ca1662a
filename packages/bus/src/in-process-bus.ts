import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { Span } from '@spansift/core/span-model'
import { BusUnavailableError, type SpanBatchHandler, type SpanBus } from './span-bus.ts'

/** The size counted for a span whose export's size the publisher did not give. */
const ASSUMED_SPAN_BYTES = 1024

export interface InProcessBusOptions {
  /** Spans accepted but not yet processed, at most; past it publish refuses (retryable). */
  maxInFlightSpans: number
  /**
   * Encoded bytes of the exports accepted but not yet processed, at most; past it publish
   * refuses (retryable). A few huge spans take as much memory as many small ones: the span
   * count alone lets four 16 MiB spans through.
   */
  maxInFlightBytes: number
  /** Where the in-flight gauge goes; nowhere by default. */
  metrics?: Metrics
}

/**
 * The embedded bus: publish calls every group's handler directly and resolves when all
 * of them have finished, so an exporter is answered only after its spans are stored.
 * Memory stays bounded: past `maxInFlightSpans` or `maxInFlightBytes` publish refuses
 * instead of queueing. One export is always let in when nothing is in flight, however
 * large (the receivers' body limit bounds it), so a large export is slow, never refused
 * for ever.
 */
export function createInProcessBus(
  options: InProcessBusOptions,
): SpanBus & { readonly inFlightSpans: number; readonly inFlightBytes: number } {
  const handlers = new Map<string, SpanBatchHandler>()
  let inFlight = 0
  let inFlightBytes = 0
  let accepting = false
  const metrics = options.metrics ?? noopMetrics
  const inFlightGauge = metrics.gauge({
    name: 'spansift_bus_in_flight_spans',
    help: 'Spans published to the in-process bus and not yet processed by every group.',
  })
  const inFlightBytesGauge = metrics.gauge({
    name: 'spansift_bus_in_flight_bytes',
    help: 'Encoded bytes of the exports published to the bus and not yet processed (in process) or acknowledged (Kafka).',
  })

  return {
    get inFlightSpans() {
      return inFlight
    },
    get inFlightBytes() {
      return inFlightBytes
    },
    subscribe(group, handler) {
      if (handlers.has(group)) throw new Error(`group ${group} is already subscribed`)
      handlers.set(group, handler)
    },
    async start() {
      accepting = true
    },
    // Nothing outside the process to wait for.
    ready: async () => true,
    async shutdown() {
      accepting = false
      // Let what was accepted finish: its senders are waiting for the answer.
      for (let waited = 0; inFlight > 0 && waited < 30_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async publish(spans: readonly Span[], sizeBytes?: number) {
      if (!accepting)
        throw new BusUnavailableError('unavailable', 'spansift is not accepting spans (starting or stopping)')
      if (spans.length === 0) return
      const bytes = sizeBytes ?? spans.length * ASSUMED_SPAN_BYTES
      if (inFlight > 0 && inFlight + spans.length > options.maxInFlightSpans) {
        throw new BusUnavailableError('overloaded', `too many spans in flight (${inFlight}); retry later`)
      }
      if (inFlight > 0 && inFlightBytes + bytes > options.maxInFlightBytes) {
        throw new BusUnavailableError(
          'overloaded',
          `too many bytes in flight (${inFlightBytes} of ${options.maxInFlightBytes}); retry later`,
        )
      }
      inFlight += spans.length
      inFlightBytes += bytes
      inFlightGauge.set(inFlight)
      inFlightBytesGauge.set(inFlightBytes)
      try {
        await Promise.all([...handlers.values()].map((handle) => handle(spans)))
      } finally {
        inFlight -= spans.length
        inFlightBytes -= bytes
        inFlightGauge.set(inFlight)
        inFlightBytesGauge.set(inFlightBytes)
      }
    },
  }
}
