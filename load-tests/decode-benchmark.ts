/**
 * Decode benchmark for the receiver's hot path: how many GenAI spans per second one core turns
 * from an OTLP body into typed requests (decode) and into span-model spans (decode+normalize),
 * for protobuf and OTLP/JSON; plus the bus path (normalize, group by trace, re-encode), the wire
 * split that replaces it on the distributed receiver, normalization alone, and protobufjs (reflection over proto/) as a reference point.
 *
 * Each case runs in a fresh Node process: V8's heap sizing and allocation-site pretenuring
 * adapt to the workload over a second or so, and a process that ran JSON decoding before
 * measures protobuf decoding differently. Rates are per CPU-second of that process (all its
 * threads, GC included), which other work on a shared machine skews less than wall time; each
 * figure is the median of 100 ms rounds after a warm-up. Bounded: about 2 s per case.
 *
 *   cd load-tests && node --conditions=spansift-test decode-benchmark.ts [--warm-up=1] [--seconds-per-case=0.6]
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { decodeExportTraceRequestJson } from '@spansift/core/otlp/decode-json'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { DEFAULT_SPAN_LIMITS } from '@spansift/core/otlp/span-limits'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import { splitExportTraceRequestByTrace } from '@spansift/core/otlp/split-by-trace-wire'
import { ExportTraceServiceRequestType } from '@spansift/core/otlp/test-proto-schema'
import type { Span } from '@spansift/core/span-model'
import { buildGenAiRequest } from './genai-payload.ts'

const SPANS_PER_REQUEST = 1000
/** Distinct bodies cycled through, so no single buffer stays hot in the CPU caches. */
const BODY_COUNT = 4
const APPLICATION_ID = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'
const ROUND_MS = 100

function numberArgument(name: string, fallback: number): number {
  const argument = process.argv.find((a) => a.startsWith(`--${name}=`))
  return argument === undefined ? fallback : Number(argument.slice(name.length + 3))
}

const WARM_UP_SECONDS = numberArgument('warm-up', 1)
const SECONDS_PER_CASE = numberArgument('seconds-per-case', 0.6)

type Format = 'protobuf' | 'json'

interface Case {
  name: string
  format: Format
  /** Builds the per-call function from the request bodies. */
  setup: (bodies: { protobuf: Uint8Array[]; json: string[] }) => (i: number) => unknown
}

const CASES: Case[] = [
  {
    name: 'protobuf decode',
    format: 'protobuf',
    setup: (b) => (i) => decodeExportTraceRequestProtobuf(b.protobuf[i]!),
  },
  {
    name: 'protobuf decode+normalize',
    format: 'protobuf',
    setup: (b) => (i) =>
      normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(b.protobuf[i]!), {
        applicationId: APPLICATION_ID,
      }),
  },
  { name: 'OTLP/JSON decode', format: 'json', setup: (b) => (i) => decodeExportTraceRequestJson(b.json[i]!) },
  {
    name: 'OTLP/JSON decode+normalize',
    format: 'json',
    setup: (b) => (i) =>
      normalizeExportTraceRequest(decodeExportTraceRequestJson(b.json[i]!), {
        applicationId: APPLICATION_ID,
      }),
  },
  {
    name: 'normalize only',
    format: 'protobuf',
    setup: (b) => {
      const requests = b.protobuf.map((body) => decodeExportTraceRequestProtobuf(body))
      return (i) => normalizeExportTraceRequest(requests[i]!, { applicationId: APPLICATION_ID })
    },
  },
  {
    name: 'protobuf decode+normalize+encode by trace (bus path)',
    format: 'protobuf',
    setup: (b) => (i) => {
      const { spans } = normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(b.protobuf[i]!), {
        applicationId: APPLICATION_ID,
      })
      const byTrace = new Map<string, Span[]>()
      for (const span of spans) {
        const trace = byTrace.get(span.traceId)
        if (trace) trace.push(span)
        else byTrace.set(span.traceId, [span])
      }
      for (const trace of byTrace.values()) encodeExportTraceRequestProtobuf(spansToExportRequest(trace))
    },
  },
  {
    name: 'protobuf wire split by trace, checked (receiver path, Kafka wiring)',
    format: 'protobuf',
    setup: (b) => {
      // The same checks the receiver applies; a payload the checks refuse would measure nothing.
      const check = splitExportTraceRequestByTrace(b.protobuf[0]!, {
        applicationId: APPLICATION_ID,
        limits: DEFAULT_SPAN_LIMITS,
      })
      if (check.rejectedSpans > 0) throw new Error(`the payload is refused: ${check.rejectionMessage}`)
      return (i) =>
        splitExportTraceRequestByTrace(b.protobuf[i]!, {
          applicationId: APPLICATION_ID,
          limits: DEFAULT_SPAN_LIMITS,
        })
    },
  },
  {
    name: 'reference: protobufjs reflection decode',
    format: 'protobuf',
    setup: (b) => (i) => ExportTraceServiceRequestType.decode(b.protobuf[i]!),
  },
]

interface CaseResult {
  spansPerSecond: number
  bytesPerSpan: number
}

/** Child side: measures one case and prints its result as JSON. */
function runCase(index: number): CaseResult {
  const benchmarkCase = CASES[index]!
  const bodies = { protobuf: [] as Uint8Array[], json: [] as string[] }
  for (let seed = 1; seed <= BODY_COUNT; seed++) {
    // Recent spans, so the span checks (the time window) pass, as on a live receiver.
    const payload = buildGenAiRequest(SPANS_PER_REQUEST, {
      seed,
      startTimeUnixNano: BigInt(Date.now() - 60_000) * 1_000_000n,
    })
    bodies.protobuf.push(payload.protobuf)
    if (benchmarkCase.format === 'json') bodies.json.push(payload.json)
  }
  const bytesPerSpan =
    benchmarkCase.format === 'json'
      ? Buffer.byteLength(bodies.json[0]!) / SPANS_PER_REQUEST
      : bodies.protobuf[0]!.byteLength / SPANS_PER_REQUEST
  const run = benchmarkCase.setup(bodies)
  let calls = 0
  const warmUntil = performance.now() + WARM_UP_SECONDS * 1000
  while (performance.now() < warmUntil) run(calls++ % BODY_COUNT)
  const rates: number[] = []
  const until = performance.now() + SECONDS_PER_CASE * 1000
  while (performance.now() < until || rates.length < 3) {
    const cpuBefore = process.cpuUsage()
    const roundEnd = performance.now() + ROUND_MS
    let roundCalls = 0
    while (performance.now() < roundEnd) {
      run(calls++ % BODY_COUNT)
      roundCalls++
    }
    const cpu = process.cpuUsage(cpuBefore)
    rates.push(roundCalls / ((cpu.user + cpu.system) / 1e6))
  }
  rates.sort((a, b) => a - b)
  return { spansPerSecond: rates[rates.length >> 1]! * SPANS_PER_REQUEST, bytesPerSpan }
}

const caseArgument = process.argv.find((a) => a.startsWith('--case='))
if (caseArgument !== undefined) {
  process.stdout.write(JSON.stringify(runCase(Number(caseArgument.slice('--case='.length)))))
} else {
  const cpus = os.cpus()
  console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}`)
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  console.log(
    `requests of ${SPANS_PER_REQUEST} GenAI spans; one process per case, ${WARM_UP_SECONDS}s warm-up, ` +
      `median of ${ROUND_MS} ms rounds over ${SECONDS_PER_CASE}s, per CPU-second`,
  )
  console.log('')
  for (let index = 0; index < CASES.length; index++) {
    const output = execFileSync(
      process.execPath,
      [
        ...process.execArgv, // --conditions=spansift-test: the cases use the test fixtures
        import.meta.filename,
        `--case=${index}`,
        `--warm-up=${WARM_UP_SECONDS}`,
        `--seconds-per-case=${SECONDS_PER_CASE}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const { spansPerSecond, bytesPerSpan } = JSON.parse(output) as CaseResult
    const megabytes = (spansPerSecond * bytesPerSpan) / 1e6
    console.log(
      `${CASES[index]!.name.padEnd(40)} ${Math.round(spansPerSecond).toLocaleString('en-US').padStart(11)} spans/s` +
        `  ${megabytes.toFixed(0).padStart(5)} MB/s  (${bytesPerSpan.toFixed(0)} B/span)`,
    )
  }
}
