import type { Counter, Gauge, Histogram, Labels, Metrics } from '@spansift/core/metrics'
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from 'prom-client'

export interface PrometheusMetrics extends Metrics {
  /** The registry's metrics in the Prometheus text format, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>
}

/**
 * The metrics port over prom-client, one registry per spansift instance (tests run
 * several in one process), with the process metrics of `collectDefaultMetrics`
 * (memory, CPU, event-loop delay, handles, GC) prefixed `spansift_`.
 */
export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'spansift_' })
  const created = new Map<string, Counter | Gauge | Histogram>()

  /** One metric per name: a second component asking for it shares the first one's. */
  function once<T extends Counter | Gauge | Histogram>(name: string, create: () => T): T {
    const existing = created.get(name)
    if (existing) return existing as T
    const metric = create()
    created.set(name, metric)
    return metric
  }

  const labelsOf = (labels: Labels | undefined) => (labels ?? {}) as Record<string, string>

  return {
    counter: (options) =>
      once(options.name, () => {
        const counter = new PromCounter({
          name: options.name,
          help: options.help,
          labelNames: [...(options.labelNames ?? [])],
          registers: [registry],
        })
        return { inc: (labels, value = 1) => counter.inc(labelsOf(labels), value) }
      }),
    gauge: (options) =>
      once(options.name, () => {
        const gauge = new PromGauge({
          name: options.name,
          help: options.help,
          labelNames: [...(options.labelNames ?? [])],
          registers: [registry],
        })
        return { set: (value, labels) => gauge.set(labelsOf(labels), value) }
      }),
    histogram: (options) =>
      once(options.name, () => {
        const histogram = new PromHistogram({
          name: options.name,
          help: options.help,
          labelNames: [...(options.labelNames ?? [])],
          ...(options.buckets ? { buckets: [...options.buckets] } : {}),
          registers: [registry],
        })
        return { observe: (value, labels) => histogram.observe(labelsOf(labels), value) }
      }),
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
  }
}
