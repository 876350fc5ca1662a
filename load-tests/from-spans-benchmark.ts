// From-spans benchmark: 10,000,000 spans over 12 monthly partitions in the embedded
// engine; lookups of 200 span refs through the repository method the endpoint uses,
// and a few through the real HTTP endpoint. Prints p50/p99 latency and rows read per
// request against rows in the table. Target: p99 < 50 ms, rows read < 1% of the table.
// Then, on the same table in interleaved rounds, the same lookup reading the row from its
// six columns (ids, attributes, events, span_json: what the repository reads), from twenty (before
// migration 12), and the ids alone (the floor: what the primary key and granules cost).
//
//   node --conditions=spansift-test load-tests/from-spans-benchmark.ts [--spans 10000000] [--requests 300] [--seconds 60]
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseConfig } from '@spansift/cli/config'
import { createSpansift } from '@spansift/cli/spansift'
import {
  rowToSpan,
  SPAN_COLUMNS,
  type SpanJsonRow,
  type StoredSpanRow,
  spanFromJsonRow,
} from '@spansift/clickhouse/span-row'
import { spansByRefsParams, spansByRefsQuery } from '@spansift/clickhouse/spans-repository'
import { tableNames } from '@spansift/clickhouse/tables'
import { createJsonLogger } from '@spansift/core/logger'
import { cpuContention, machineDescription, percentile } from './bench-util.ts'

const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '10000000' },
    requests: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '60' },
    'http-requests': { type: 'string', default: '20' },
  },
})
const TOTAL_SPANS = Number(args.spans)
const MAX_REQUESTS = Number(args.requests)
const MAX_SECONDS = Number(args.seconds)
const HTTP_REQUESTS = Number(args['http-requests'])
const MONTHS = 12
const SPANS_PER_TRACE = 5
const REFS_PER_REQUEST = 200
const LAYOUT_ROUNDS = 4
const LAYOUT_REQUESTS = 25
const ADMIN_KEY = 'bench-admin-key-0123456789'

const dataDir = mkdtempSync(join(tmpdir(), 'spansift-from-spans-bench-'))
const spansift = createSpansift(
  parseConfig({
    SPANSIFT_DATA_DIR: dataDir,
    SPANSIFT_API_PORT: '0',
    SPANSIFT_OTLP_HTTP_PORT: '0',
    SPANSIFT_OTLP_GRPC_PORT: '0',
    SPANSIFT_METRICS_PORT: '0',
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    // Twelve months back must survive the insert (rows past the TTL are dropped).
    SPANSIFT_SPAN_RETENTION_DAYS: '400',
  }),
  createJsonLogger({ level: 'error', sink: process.stderr }),
)
await spansift.start()
const storage = spansift.storage()
const apiUrl = `http://127.0.0.1:${spansift.ports().api}`
const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as any }
}

try {
  // Four applications; the benchmark's is the first. Every fourth trace is its.
  const apps: string[] = []
  for (let i = 0; i < 4; i++)
    apps.push((await api('POST', '/v1/applications', { name: `bench-${i}` })).body.id)

  const now = new Date()
  const monthStartMs = (offset: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)
  // Months -11 … 0; the current month only up to now (no spans from the future).
  const months = Array.from({ length: MONTHS }, (_, i) => {
    const start = monthStartMs(i - (MONTHS - 1))
    const end = i === MONTHS - 1 ? Date.now() - 60_000 : monthStartMs(i - (MONTHS - 1) + 1)
    return { startMs: start, endMs: end, rangeEndMs: monthStartMs(i - (MONTHS - 1) + 1) }
  })
  const perMonth = Math.floor(TOTAL_SPANS / MONTHS / SPANS_PER_TRACE) * SPANS_PER_TRACE
  const { spans } = tableNames(storage.runner.database)

  // Generation in SQL (the one place rows are built in SQL; every value is a parameter).
  // Span n belongs to trace n/5; a trace's spans share a month, an application and a
  // start within 5 ms. Ids are MD5-derived so the benchmark can name spans without reading them.
  const generateStarted = performance.now()
  for (let m = 0; m < MONTHS; m++) {
    const month = months[m]!
    await storage.runner.command(
      'bench.generate',
      `INSERT INTO ${spans} (application_id, trace_id, span_id, parent_span_id, trace_state, name, kind, start_time,
         end_time, duration_ns, status_code, status_message, service_name, scope_name, scope_version,
         resource_attributes, attributes, events, links, flags)
       SELECT
         {apps:Array(UUID)}[intDiv(number, 5) % 4 + 1],
         toFixedString(lower(hex(MD5(concat('t', toString(intDiv(number, 5)))))), 32),
         toFixedString(substring(lower(hex(MD5(concat('s', toString(number))))), 1, 16), 16),
         if(number % 5 = 0, '', substring(lower(hex(MD5(concat('s', toString(number - number % 5))))), 1, 16)),
         '',
         if(number % 5 = 0, 'workflow', 'chat gpt-4o'),
         if(number % 5 = 0, 2, 3),
         fromUnixTimestamp64Nano(toInt64({start_ns:Int64} + cityHash64(intDiv(number, 5)) % {len_ns:Int64} + (number % 5) * 1000000)),
         fromUnixTimestamp64Nano(toInt64({start_ns:Int64} + cityHash64(intDiv(number, 5)) % {len_ns:Int64} + (number % 5) * 1000000 + 900000)),
         900000, 1, '', 'bench-service', 'openai', '1.0.0',
         map('service.name', '"bench-service"'),
         map('gen_ai.request.model', '"gpt-4o"',
             'gen_ai.request.user_message', concat('"question ', toString(number), '"'),
             'gen_ai.completion.content', concat('"answer ', toString(number), '"')),
         '[]', '[]', 1
       FROM numbers({offset:UInt64}, {count:UInt64})`,
      {
        apps,
        start_ns: (BigInt(month.startMs) * 1_000_000n).toString(),
        len_ns: (BigInt(month.endMs - month.startMs - 10) * 1_000_000n).toString(),
        offset: m * perMonth,
        count: perMonth,
      },
    )
  }
  const generateSeconds = (performance.now() - generateStarted) / 1000
  const [stats] = await storage.runner.select<{ rows: string; parts: string; partitions: string }>(
    'bench.stats',
    `SELECT sum(rows) AS rows, count() AS parts, uniqExact(partition) AS partitions
     FROM system.parts WHERE database = {db:String} AND table = 'spans' AND active`,
    { db: storage.runner.database },
  )
  const tableRows = Number(stats!.rows)

  /** A request: 200 random spans of the benchmark's application from one month, and that month as the range. */
  const md5 = (text: string) => createHash('md5').update(text).digest('hex')
  const request = () => {
    const m = Math.floor(Math.random() * MONTHS)
    const refs = new Map<string, { traceId: string; spanId: string }>()
    while (refs.size < REFS_PER_REQUEST) {
      const n = m * perMonth + Math.floor(Math.random() * perMonth)
      if (Math.floor(n / SPANS_PER_TRACE) % 4 !== 0) continue // another application's
      refs.set(String(n), {
        traceId: md5(`t${Math.floor(n / SPANS_PER_TRACE)}`),
        spanId: md5(`s${n}`).slice(0, 16),
      })
    }
    const month = months[m]!
    return {
      refs: [...refs.values()],
      range: {
        fromUnixNano: BigInt(month.startMs) * 1_000_000n,
        toUnixNano: BigInt(month.rangeEndMs) * 1_000_000n,
      },
    }
  }

  // Lookups through the repository method the endpoint uses.
  for (let i = 0; i < 10; i++) {
    const r = request()
    await storage.spans.findByRefs(apps[0]!, r.refs, r.range) // warm-up
  }
  const latencies: number[] = []
  let found = 0
  const deadline = performance.now() + MAX_SECONDS * 1000
  while (latencies.length < MAX_REQUESTS && performance.now() < deadline) {
    const r = request()
    const started = performance.now()
    const result = await storage.spans.findByRefs(apps[0]!, r.refs, r.range)
    latencies.push(performance.now() - started)
    found += result.length
  }
  latencies.sort((a, b) => a - b)

  // Layouts compared in the same run, interleaved: what each lookup costs (query + decode).
  const layouts: Record<string, (r: ReturnType<typeof request>) => Promise<number>> = {
    'v12: ids, attributes, events, span_json': async (r) =>
      (
        await storage.runner.select<SpanJsonRow>(
          'bench.layout',
          spansByRefsQuery(spans),
          spansByRefsParams(apps[0]!, r.refs, r.range),
        )
      ).map(spanFromJsonRow).length,
    'twenty columns (before v12)': async (r) =>
      (
        await storage.runner.select<StoredSpanRow>(
          'bench.layout',
          spansByRefsQuery(spans, SPAN_COLUMNS),
          spansByRefsParams(apps[0]!, r.refs, r.range),
        )
      ).map(rowToSpan).length,
    'ids only (floor)': async (r) =>
      (
        await storage.runner.select(
          'bench.layout',
          spansByRefsQuery(spans, 'trace_id, span_id'),
          spansByRefsParams(apps[0]!, r.refs, r.range),
        )
      ).length,
  }
  const layoutLatencies = new Map<string, number[]>(Object.keys(layouts).map((name) => [name, []]))
  const contention: string[] = []
  for (let round = 0; round < LAYOUT_ROUNDS; round++) {
    for (const [name, lookup] of Object.entries(layouts)) {
      for (let i = 0; i < LAYOUT_REQUESTS; i++) {
        const r = request()
        const started = performance.now()
        const n = await lookup(r)
        layoutLatencies.get(name)!.push(performance.now() - started)
        if (n !== REFS_PER_REQUEST) throw new Error(`${name}: ${n} spans found of ${REFS_PER_REQUEST}`)
      }
    }
    contention.push(cpuContention())
  }

  // Rows read per request: EXPLAIN ESTIMATE gives the rows of the granules the query
  // reads after partition, primary-key and skip-index pruning. (The embedded engine's
  // query summary reports result rows as read_rows and it has no system.query_log.)
  const reads: number[] = []
  for (let i = 0; i < Math.min(30, MAX_REQUESTS); i++) {
    const r = request()
    const estimate = await storage.runner.select<{ rows: string }>(
      'bench.estimate',
      `EXPLAIN ESTIMATE ${spansByRefsQuery(spans)}`,
      spansByRefsParams(apps[0]!, r.refs, r.range),
    )
    reads.push(estimate.reduce((sum, row) => sum + Number(row.rows), 0))
  }
  reads.sort((a, b) => a - b)
  const sample = request()
  const plan = await storage.runner.select<{ explain: string }>(
    'bench.explain',
    `EXPLAIN indexes = 1 ${spansByRefsQuery(spans)}`,
    spansByRefsParams(apps[0]!, sample.refs, sample.range),
  )
  const planText = plan.map((p) => p.explain).join('\n')
  const granules = [
    ...planText.matchAll(/^\s+(Partition|PrimaryKey|Name: \w+|Min-Max)[\s\S]*?Granules: (\d+\/\d+)/gm),
  ].map((m) => `${m[1]!.replace('Name: ', '')} ${m[2]}`)

  // A few through the real HTTP endpoint (lookup + mapping + dataset append).
  const dataset = await api('POST', '/v1/datasets', {
    name: 'bench',
    kind: 'training',
    application_id: apps[0],
  })
  const httpLatencies: number[] = []
  for (let i = 0; i < HTTP_REQUESTS; i++) {
    const r = request()
    const started = performance.now()
    const response = await api('POST', `/v3/evals/datasets/${dataset.body.id}/items/from-spans`, {
      application_id: apps[0],
      start_time: new Date(Number(r.range.fromUnixNano / 1_000_000n)).toISOString(),
      end_time: new Date(Number(r.range.toUnixNano / 1_000_000n)).toISOString(),
      spans: r.refs.map((ref) => ({ trace_id: ref.traceId, span_id: ref.spanId })),
      mapping: {
        inputs: { question: 'gen_ai.request.user_message' },
        expected_outputs: { answer: 'gen_ai.completion.content' },
      },
    })
    httpLatencies.push(performance.now() - started)
    if (response.status !== 200 || response.body.data.items.length !== REFS_PER_REQUEST) {
      throw new Error(`HTTP from-spans: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`)
    }
  }
  httpLatencies.sort((a, b) => a - b)

  const fmt = (n: number) => n.toFixed(1)
  const pct = (rows: number) => `${((rows / tableRows) * 100).toFixed(3)}%`
  console.log(`from-spans benchmark — ${machineDescription()}; ${cpuContention()}`)
  console.log(
    `table: ${tableRows.toLocaleString('en')} spans, ${stats!.partitions} monthly partitions, ${stats!.parts} active parts; generated in ${fmt(generateSeconds)} s`,
  )
  console.log(
    `repository lookups (200 refs, one-month range): ${latencies.length} requests, p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(latencies.at(-1)!)} ms; ${found / latencies.length} spans found per request`,
  )
  console.log(
    `rows read per request (${reads.length} requests, EXPLAIN ESTIMATE): p50 ${percentile(reads, 50).toLocaleString('en')} (${pct(percentile(reads, 50))} of the table), max ${reads.at(-1)!.toLocaleString('en')} (${pct(reads.at(-1)!)})`,
  )
  console.log(`one request's plan (granules kept/considered): ${granules.join(', ')}`)
  console.log(
    `HTTP from-spans (200 refs, lookup + mapping + append to a training dataset): ${httpLatencies.length} requests, p50 ${fmt(percentile(httpLatencies, 50))} ms, p99 ${fmt(percentile(httpLatencies, 99))} ms`,
  )
  console.log(`layouts, same run, ${LAYOUT_ROUNDS} interleaved rounds of ${LAYOUT_REQUESTS} lookups each:`)
  for (const [name, l] of layoutLatencies) {
    l.sort((a, b) => a - b)
    console.log(
      `  ${name}: p50 ${fmt(percentile(l, 50))} ms, p90 ${fmt(percentile(l, 90))} ms, p99 ${fmt(percentile(l, 99))} ms`,
    )
  }
  console.log(`  after each round: ${contention.join(' | ')}`)
  const p99 = percentile(latencies, 99)
  const maxRead = reads.at(-1)! / tableRows
  console.log(
    `target p99 < 50 ms: ${p99 < 50 ? 'met' : 'MISSED'}; target rows read < 1% of the table: ${maxRead < 0.01 ? 'met' : 'MISSED'}`,
  )
} finally {
  await spansift.shutdown()
  rmSync(dataDir, { recursive: true, force: true })
}
