import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { Span } from '@spansift/core/span-model'
import { BusUnavailableError, type SpanBatchHandler, type SpanBus } from './span-bus.ts'

export interface InProcessBusOptions {
  /** Spans accepted but not yet processed, at most; past it publish refuses (retryable). */
  maxInFlightSpans: number
  /** Where the in-flight gauge goes; nowhere by default. */
  metrics?: Metrics
}

/**
 * The embedded bus: publish calls every group's handler directly and resolves when all
 * of them have finished, so an exporter is answered only after its spans are stored.
 * Memory stays bounded: past `maxInFlightSpans` publish refuses instead of queueing.
 */
export function createInProcessBus(
  options: InProcessBusOptions,
): SpanBus & { readonly inFlightSpans: number } {
  const handlers = new Map<string, SpanBatchHandler>()
  let inFlight = 0
  let accepting = false
  const inFlightGauge = (options.metrics ?? noopMetrics).gauge({
    name: 'spansift_bus_in_flight_spans',
    help: 'Spans published to the in-process bus and not yet processed by every group.',
  })

  return {
    get inFlightSpans() {
      return inFlight
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
    async publish(spans: readonly Span[]) {
      if (!accepting)
        throw new BusUnavailableError('unavailable', 'spansift is not accepting spans (starting or stopping)')
      if (spans.length === 0) return
      if (inFlight > 0 && inFlight + spans.length > options.maxInFlightSpans) {
        throw new BusUnavailableError('overloaded', `too many spans in flight (${inFlight}); retry later`)
      }
      inFlight += spans.length
      inFlightGauge.set(inFlight)
      try {
        await Promise.all([...handlers.values()].map((handle) => handle(spans)))
      } finally {
        inFlight -= spans.length
        inFlightGauge.set(inFlight)
      }
    },
  }
}
