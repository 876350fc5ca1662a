import type { SpanContentEvent } from '@spansift/core/span-content-event'
import type { ContentBatchHandler, ContentBus } from './content-bus.ts'
import { BusUnavailableError } from './span-bus.ts'

/**
 * The embedded content bus: publish calls every group's handler and resolves when all have
 * finished, so a logs export is answered only once its content events are stored.
 */
export function createInProcessContentBus(): ContentBus {
  const handlers = new Map<string, ContentBatchHandler>()
  let accepting = false
  let inFlight = 0
  return {
    subscribe(group, handler) {
      if (handlers.has(group)) throw new Error(`group ${group} is already subscribed`)
      handlers.set(group, handler)
    },
    async start() {
      accepting = true
    },
    async shutdown() {
      accepting = false
      // Let what was accepted finish (bounded): its senders are waiting for the answer.
      for (let waited = 0; inFlight > 0 && waited < 30_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async publish(events: readonly SpanContentEvent[]) {
      if (!accepting)
        throw new BusUnavailableError('unavailable', 'spansift is not accepting logs (starting or stopping)')
      if (events.length === 0) return
      inFlight++
      try {
        await Promise.all([...handlers.values()].map((handle) => handle(events)))
      } finally {
        inFlight--
      }
    },
  }
}
