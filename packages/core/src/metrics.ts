/**
 * The metrics port: components record through it, the composition root decides where
 * the numbers go (Prometheus in the `spansift` binary, nowhere in unit tests). Label
 * values must come from small closed sets (a transport, an outcome, a consumer group),
 * never from ids.
 */
export type Labels = Readonly<Record<string, string>>

export interface Counter {
  inc(labels?: Labels, value?: number): void
}

export interface Gauge {
  set(value: number, labels?: Labels): void
}

export interface Histogram {
  /** Records one observation, in the unit the metric's name says (seconds for durations). */
  observe(value: number, labels?: Labels): void
}

export interface MetricOptions {
  /** `spansift_…`, Prometheus-style (`_total` for counters, a base unit suffix). */
  name: string
  help: string
  labelNames?: readonly string[]
}

export interface HistogramOptions extends MetricOptions {
  buckets?: readonly number[]
}

/**
 * Creates (or returns the already created) metric of that name: two components that
 * record the same metric share it.
 */
export interface Metrics {
  counter(options: MetricOptions): Counter
  gauge(options: MetricOptions): Gauge
  histogram(options: HistogramOptions): Histogram
}

/** Histogram buckets for request and batch durations, in seconds. */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

const noopCounter: Counter = { inc() {} }
const noopGauge: Gauge = { set() {} }
const noopHistogram: Histogram = { observe() {} }

/** Records nothing: the default of every component, and what unit tests use. */
export const noopMetrics: Metrics = {
  counter: () => noopCounter,
  gauge: () => noopGauge,
  histogram: () => noopHistogram,
}
