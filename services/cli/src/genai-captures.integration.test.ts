import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CAPTURE_SCENARIOS,
  type CaptureScenario,
  CONVERSATION,
  captureLogRequests,
  loadCapture,
  loadCaptureContentEvents,
  loadCaptureSpans,
} from '@spansift/core/genai/test-genai-captures'
import { decodeExportLogsRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import {
  encodeExportLogsRequestProtobuf,
  encodeExportTraceRequestProtobuf,
} from '@spansift/core/otlp/encode-protobuf'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import type { Span } from '@spansift/core/span-model'
import { parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { ADMIN_KEY, type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'

// What real instrumentations of the openai client sent (testdata/genai, captured by
// capture.py) goes through the whole pipeline: OTLP/HTTP protobuf into the receiver, a rule
// on the message aliases, from-spans with the same mapping, and every export format read
// back (Parquet with hyparquet, an independent reader). Per convention, the rows hold the
// question as input_text, the answer as output_text, and the message lists survive.
//
// The captured spans are re-stamped to now (storage drops spans older than the retention)
// and re-encoded with the core protobuf stack. Content the instrumentation sent as OTLP log
// records rides along as span events, attached as storage attaches them; the last suite
// sends the captured log exports themselves through POST /v1/logs.

let s: RunningSpansift
let app: { id: string; key: string }
let apiDataset: string
let ruleDataset: string
let unmappedDataset: string
/** Per scenario, the spans as sent (their ids are the rows' source ids). */
const sent = new Map<CaptureScenario, Span[]>()

const MAPPING = {
  inputs: { question: 'input_text', messages: 'input' },
  expected_outputs: { answer: 'output_text', output: 'output' },
  metadata: { model: 'model', response_model: 'response_model', system: 'system', convention: 'scope.name' },
}

async function createDataset(name: string, applicationId = app.id): Promise<string> {
  const created = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
    name,
    application_id: applicationId,
    kind: 'training',
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  return created.body.id
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(value).slice(0, 2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A scenario's spans, re-stamped so the first starts a minute ago (durations and order kept). */
function restamped(scenario: CaptureScenario): Span[] {
  const spans = loadCapture(scenario, app.id)
  const shift = BigInt(Date.now() - 60_000) * 1_000_000n - spans[0]!.startTimeUnixNano
  return spans.map((span) => ({
    ...span,
    startTimeUnixNano: span.startTimeUnixNano + shift,
    endTimeUnixNano: span.endTimeUnixNano + shift,
    events: span.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano + shift })),
  }))
}

async function items(datasetId: string): Promise<any[]> {
  const listed = await s.api('GET', `/v1/datasets/${datasetId}/items?limit=100`, app.key)
  assert.equal(listed.status, 200, JSON.stringify(listed.body))
  return listed.body.items
}

async function download(path: string): Promise<Response> {
  const response = await fetch(`${s.apiUrl}${path}`, { headers: { authorization: `Bearer ${app.key}` } })
  assert.equal(response.status, 200, `${path}: ${response.status} ${await response.clone().text()}`)
  return response
}

before(async () => {
  s = await startSpansift({}, { rulesPollIntervalMs: 100 })
  app = await s.createApplication('genai-captures')
  apiDataset = await createDataset('from-spans rows')
  ruleDataset = await createDataset('rule rows')
  unmappedDataset = await createDataset('unmapped rows')
  const rulesDir = s.spansift.rules().status().reload.dir
  // `system` goes to metadata: a rule's first batch fixes the columns, and the tool calls had no system message.
  writeFileSync(
    join(rulesDir, 'answers.yaml'),
    `rules:
  - id: answers
    application: ${app.id}
    dataset: ${ruleDataset}
    when: { field: output_text, exists: true }
    mapping: ${JSON.stringify(MAPPING)}
  - id: unmapped
    application: ${app.id}
    dataset: ${unmappedDataset}
    when: { field: output_text, exists: true }
    mapping: { inputs: { question: input_text, typo: gen_ai.input.mesages } }
`,
  )
  await eventually(
    () => s.api('GET', '/v1/rules', ADMIN_KEY),
    (r) => r.body.rules?.filter((rule: { state: string }) => rule.state === 'active').length === 2,
    'the rules are loaded',
  )
  for (const scenario of CAPTURE_SCENARIOS) {
    const spans = restamped(scenario)
    sent.set(scenario, spans)
    const response = await fetch(s.otlpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/x-protobuf' },
      body: encodeExportTraceRequestProtobuf(spansToExportRequest(spans)),
    })
    assert.equal(response.status, 200, `${scenario}: ${await response.text()}`)
  }
  const all = [...sent.values()].flat()
  // The rule takes the calls that answered in text: three of each scenario's four.
  await eventually(
    () => items(ruleDataset),
    (rows) => rows.length === 3 * CAPTURE_SCENARIOS.length,
    'rule rows',
  )
  const from = await s.api('POST', `/v3/evals/datasets/${apiDataset}/items/from-spans`, app.key, {
    application_id: app.id,
    start_time: new Date(Date.now() - 3_600_000).toISOString(),
    end_time: new Date(Date.now() + 3_600_000).toISOString(),
    spans: all.map((span) => ({ trace_id: span.traceId, span_id: span.spanId })),
    mapping: MAPPING,
  })
  assert.equal(from.status, 200, JSON.stringify(from.body))
  assert.equal(from.body.data.items.length, all.length)
  assert.deepEqual(from.body.data.warnings, [])
})
after(async () => {
  await s?.stop()
})

const userText = (text: string) => ({ role: 'user', parts: [{ type: 'text', content: text }] })

describe('rows, per convention', () => {
  for (const scenario of CAPTURE_SCENARIOS) {
    test(`${scenario}: from-spans and rule rows hold the question, the answer and the messages`, async (t) => {
      const [plain, stream, call, answer] = sent.get(scenario)!
      const bySpan = (rows: any[], span: Span) => rows.find((r) => r.source.span_id === span.spanId)
      const apiRows = await items(apiDataset)
      const ruleRows = await items(ruleDataset)
      for (const [label, rows] of [
        ['from-spans', apiRows],
        ['rule', ruleRows],
      ] as const) {
        const row = bySpan(rows, plain!)
        assert.ok(row, `${label}: a row for the plain call`)
        assert.equal(row.inputs.question, CONVERSATION.plain.question, label)
        assert.deepEqual(row.inputs.messages, [userText(CONVERSATION.plain.question)], label)
        assert.equal(row.expected_outputs.answer, CONVERSATION.plain.answer, label)
        assert.equal(row.expected_outputs.output[0].role, 'assistant', label)
        assert.equal(row.metadata.model, CONVERSATION.requestModel, label)
        assert.equal(row.metadata.response_model, CONVERSATION.responseModel, label)
        assert.equal(row.metadata.system, CONVERSATION.system, label)
        assert.equal(bySpan(rows, stream!).expected_outputs.answer, CONVERSATION.stream.answer, label)
        const last = bySpan(rows, answer!)
        assert.equal(last.inputs.question, CONVERSATION.tool.question, label)
        assert.deepEqual(
          last.inputs.messages.map((m: { role: string }) => m.role),
          ['user', 'assistant', 'tool'],
          label,
        )
        assert.deepEqual(last.inputs.messages[2].parts[0].result, CONVERSATION.tool.result, label)
        assert.equal(last.expected_outputs.answer, CONVERSATION.tool.answer, label)
      }
      // One row per convention, as the API returns it, in the test's output (for notes and reviews).
      const shown = bySpan(apiRows, plain!)
      t.diagnostic(
        JSON.stringify({
          inputs: shown.inputs,
          expected_outputs: shown.expected_outputs,
          metadata: shown.metadata,
        }),
      )
      // The tool call answered with no text: the rule left it out, from-spans kept its call.
      assert.equal(bySpan(ruleRows, call!), undefined)
      const toolCall = bySpan(apiRows, call!).expected_outputs.output[0].parts[0]
      assert.deepEqual(toolCall, {
        type: 'tool_call',
        id: 'call_weather_1',
        name: 'get_weather',
        arguments: CONVERSATION.tool.arguments,
      })
    })
  }
})

test('a rule whose mapping field resolves in none of its rows says so in its status', async () => {
  const listing = await eventually(
    () => s.api('GET', '/v1/rules', ADMIN_KEY),
    (r) => r.body.rules.every((rule: { matched: number }) => rule.matched === 3 * CAPTURE_SCENARIOS.length),
    'both rules matched every answer',
  )
  const byId = (id: string) => listing.body.rules.find((r: { id: string }) => r.id === id)
  assert.deepEqual(byId('answers').warnings, [])
  assert.deepEqual(byId('unmapped').warnings, [
    `mapping resolved to nothing in all ${3 * CAPTURE_SCENARIOS.length} rows: inputs.typo (gen_ai.input.mesages)`,
  ])
})

describe('exports round trip', () => {
  test('JSONL holds the API values, nested', async () => {
    const apiRows = await items(apiDataset)
    const lines = (await (await download(`/v1/datasets/${apiDataset}/export?format=jsonl`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(lines.length, apiRows.length)
    for (const row of apiRows) {
      const line = lines.find((l) => l.item_id === row.item_id)
      assert.deepEqual(line.inputs, row.inputs)
      assert.deepEqual(line.expected_outputs, row.expected_outputs)
    }
  })

  test('CSV cells are JSON: the buckets and the labels', async () => {
    const apiRows = await items(apiDataset)
    const text = await (await download(`/v1/datasets/${apiDataset}/export?format=csv`)).text()
    const records = parseCsv(text)
    const header = records[0]!
    const at = (name: string) => header.indexOf(name)
    assert.equal(records.length - 1, apiRows.length)
    for (const record of records.slice(1)) {
      const row = apiRows.find((r) => r.item_id === record[at('item_id')])
      assert.deepEqual(JSON.parse(record[at('inputs')]!), row.inputs)
      assert.deepEqual(JSON.parse(record[at('expected_outputs')]!), row.expected_outputs)
      assert.deepEqual(JSON.parse(record[at('labels')]!), [])
      assert.equal(record[at('annotation')], '')
    }
  })

  test('Parquet, read with hyparquet: typed nullable columns, the conversation as lists of structs, buckets as maps of JSON text', async () => {
    const apiRows = await items(apiDataset)
    const bytes = await (await download(`/v1/datasets/${apiDataset}/export?format=parquet`)).arrayBuffer()
    const rows = (await parquetReadObjects({ file: bytes, compressors })) as any[]
    assert.equal(rows.length, apiRows.length)
    for (const parquetRow of rows) {
      const row = apiRows.find((r) => r.item_id === parquetRow.item_id)
      const bucket = (map: unknown) => Object.fromEntries(entries(map).map(([k, v]) => [k, JSON.parse(v)]))
      assert.deepEqual(bucket(parquetRow.inputs), row.inputs)
      assert.deepEqual(bucket(parquetRow.expected_outputs), row.expected_outputs)
      assert.equal(parquetRow.annotation, null, 'a missing annotation is null, not an empty string')
      assert.equal(parquetRow.source.trace_id, row.source.trace_id)
      assert.deepEqual(parquetRow.labels, [])
      // The conversation, typed: the message lists as lists of structs.
      const typed = (messages: any[]) =>
        messages.map((m) => ({
          role: m.role,
          parts: m.parts.map((p: any) => ({
            type: p.type,
            content: p.content,
            id: p.id,
            arguments: p.arguments === null ? null : JSON.parse(p.arguments),
            result: p.result === null ? null : JSON.parse(p.result),
          })),
        }))
      const model = (messages: any[]) =>
        messages.map((m) => ({
          role: m.role,
          parts: m.parts.map((p: any) => ({
            type: p.type,
            content: p.content ?? null,
            id: p.id ?? null,
            arguments: p.arguments ?? null,
            result: p.result ?? null,
          })),
        }))
      assert.deepEqual(typed(parquetRow.input_messages), model(row.inputs.messages))
      assert.deepEqual(typed(parquetRow.output_messages), model(row.expected_outputs.output))
    }
  })

  test('chat fine-tuning JSONL: system, user, tool calls and results, the answer', async () => {
    const response = await download(`/v1/datasets/${apiDataset}/export?format=chat-jsonl&strict=true`)
    const examples = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(examples.length, 4 * CAPTURE_SCENARIOS.length)
    assert.equal(response.headers.get('x-spansift-unconvertible-rows'), '0')
    const plain = examples.filter((e) =>
      e.messages.some((m: any) => m.content === CONVERSATION.plain.question),
    )
    assert.equal(plain.length, CAPTURE_SCENARIOS.length)
    for (const example of plain) {
      assert.deepEqual(example.messages, [
        { role: 'user', content: CONVERSATION.plain.question },
        { role: 'assistant', content: CONVERSATION.plain.answer },
      ])
    }
    const toolAnswers = examples.filter((e) => e.messages.some((m: any) => m.role === 'tool'))
    assert.equal(toolAnswers.length, CAPTURE_SCENARIOS.length)
    for (const example of toolAnswers) {
      assert.deepEqual(
        example.messages.map((m: any) => m.role),
        ['user', 'assistant', 'tool', 'assistant'],
      )
      assert.equal(example.messages[1].tool_calls[0].function.name, 'get_weather')
      assert.deepEqual(
        JSON.parse(example.messages[1].tool_calls[0].function.arguments),
        CONVERSATION.tool.arguments,
      )
      assert.equal(example.messages[2].tool_call_id, 'call_weather_1')
      assert.equal(example.messages[3].content, CONVERSATION.tool.answer)
    }
  })
})

describe('content sent as OTLP logs, end to end', () => {
  for (const scenario of CAPTURE_SCENARIOS.filter((c) => captureLogRequests(c).length > 0)) {
    test(`${scenario}: the captured log exports through POST /v1/logs reach their spans; the row holds input_text and output_text`, async () => {
      // An application of its own: the spans' ids are those the first suite sent.
      const logsApp = await s.createApplication(`genai-captures-logs-${scenario}`)
      const spans = loadCaptureSpans(scenario, logsApp.id)
      const shift = BigInt(Date.now() - 60_000) * 1_000_000n - spans[0]!.startTimeUnixNano
      const restampedSpans = spans.map((span) => ({
        ...span,
        startTimeUnixNano: span.startTimeUnixNano + shift,
        endTimeUnixNano: span.endTimeUnixNano + shift,
      }))
      const plain = restampedSpans[0]!
      assert.equal(
        JSON.stringify(plain.attributes).includes(CONVERSATION.plain.question),
        false,
        'the span alone does not carry the question: only the logs do',
      )
      // The spans first: the content arrives after its span.
      const traces = await fetch(s.otlpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${logsApp.key}`, 'content-type': 'application/x-protobuf' },
        body: encodeExportTraceRequestProtobuf(spansToExportRequest(restampedSpans)),
      })
      assert.equal(traces.status, 200, await traces.text())
      // The captured log exports as sent, only their timestamps moved like the spans'.
      for (const bytes of captureLogRequests(scenario)) {
        const request = decodeExportLogsRequestProtobuf(bytes)
        for (const resourceLogs of request.resourceLogs)
          for (const scopeLogs of resourceLogs.scopeLogs)
            for (const record of scopeLogs.logRecords) {
              if (record.timeUnixNano !== 0n) record.timeUnixNano += shift
              if (record.observedTimeUnixNano !== 0n) record.observedTimeUnixNano += shift
            }
        const response = await fetch(s.otlpUrl.replace('/v1/traces', '/v1/logs'), {
          method: 'POST',
          headers: { authorization: `Bearer ${logsApp.key}`, 'content-type': 'application/x-protobuf' },
          body: encodeExportLogsRequestProtobuf(request),
        })
        assert.equal(response.status, 200, await response.clone().text())
        assert.equal(
          (await response.arrayBuffer()).byteLength,
          0,
          'no partial success: every record accepted',
        )
      }
      const expected = loadCaptureContentEvents(scenario, logsApp.id).filter((e) => e.spanId === plain.spanId)
      assert.ok(expected.length > 0, 'the plain call has content events')
      await eventually(
        () => s.api('GET', `/v1/traces/${plain.traceId}?${rangeAroundNow()}`, logsApp.key),
        (r) =>
          r.status === 200 &&
          r.body.spans.find((span: { span_id: string }) => span.span_id === plain.spanId)?.events.length ===
            expected.length,
        'the content events attached to the stored span',
      )
      const dataset = await createDataset(`logs rows ${scenario}`, logsApp.id)
      const from = await s.api('POST', `/v3/evals/datasets/${dataset}/items/from-spans`, logsApp.key, {
        application_id: logsApp.id,
        start_time: new Date(Date.now() - 3_600_000).toISOString(),
        end_time: new Date(Date.now() + 3_600_000).toISOString(),
        spans: [{ trace_id: plain.traceId, span_id: plain.spanId }],
        mapping: MAPPING,
      })
      assert.equal(from.status, 200, JSON.stringify(from.body))
      assert.equal(from.body.data.added, 1, JSON.stringify(from.body))
      const listed = await s.api('GET', `/v1/datasets/${dataset}/items?limit=10`, logsApp.key)
      assert.equal(listed.status, 200, JSON.stringify(listed.body))
      const [row] = listed.body.items
      assert.equal(row.inputs.question, CONVERSATION.plain.question, 'input_text')
      assert.equal(row.expected_outputs.answer, CONVERSATION.plain.answer, 'output_text')
      assert.deepEqual(row.inputs.messages, [userText(CONVERSATION.plain.question)])
    })
  }
})

/** Map entries whatever shape the reader gives a Parquet map (an object or key/value pairs). */
function entries(map: unknown): Array<[string, string]> {
  if (Array.isArray(map)) return map.map((e: any) => [e.key, e.value])
  if (map instanceof Map) return [...map.entries()]
  return Object.entries(map as Record<string, string>)
}

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes). */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      record.push(field)
      field = ''
    } else if (c === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
    } else field += c
  }
  if (field !== '' || record.length > 0) records.push([...record, field])
  return records
}
