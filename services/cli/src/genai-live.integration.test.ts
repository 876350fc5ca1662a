import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { tableNames } from '@spansift/clickhouse/tables'
import { CONVERSATION } from '@spansift/core/genai/test-genai-captures'
import { type RunningSpansift, startSpansift } from './test-harness.ts'

// One real instrumentation, live: testdata/genai/capture.py runs OpenLLMetry's OpenAI
// instrumentation (the Python `openai` client against a fake chat server on loopback) and
// exports straight to this spansift's OTLP/HTTP receiver with an application key. The
// rows from-spans makes hold the conversation. Needs the venv of
// testdata/genai/setup-venv.sh (.ci/run makes it; SPANSIFT_GENAI_PYTHON names another).

const repoRoot = join(import.meta.dirname, '../../..')
const python = process.env.SPANSIFT_GENAI_PYTHON ?? join(repoRoot, '.tmp/genai-venv/bin/python')

let s: RunningSpansift
let app: { id: string; key: string }

before(async () => {
  assert.ok(existsSync(python), `no Python venv at ${python}: run testdata/genai/setup-venv.sh`)
  s = await startSpansift()
  app = await s.createApplication('genai-live')
})
after(async () => {
  await s?.stop()
})

/** Runs capture.py in live mode; resolves with its output, rejects on a non-zero exit or after 120 s. */
function runCapture(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(repoRoot, 'testdata/genai/capture.py'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new Error(`capture.py exited ${code}:\n${output}`))
    })
  })
}

test('OpenLLMetry, live: its spans become rows holding the question, the answer and the messages', {
  timeout: 180_000,
}, async () => {
  const base = s.otlpUrl.replace(/\/v1\/traces$/, '')
  const output = await runCapture([
    '--send-to',
    base,
    '--header',
    `Authorization=Bearer ${app.key}`,
    '--scenario',
    'openllmetry',
  ])
  assert.match(output, /openllmetry: exit 0/)
  const range = {
    start_time: new Date(Date.now() - 3_600_000).toISOString(),
    end_time: new Date(Date.now() + 3_600_000).toISOString(),
  }
  // The four calls' span ids: the instrumentation chose them, so storage is asked.
  const storage = s.spansift.storage()
  const stored = () =>
    storage.runner.select<{ trace_id: string; span_id: string }>(
      'test.genai-live',
      `SELECT trace_id, span_id FROM ${tableNames(storage.runner.database).spans} WHERE application_id = {app:UUID}`,
      { app: app.id },
    )
  const deadline = Date.now() + 30_000
  let spans = await stored()
  while (spans.length < 4 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    spans = await stored()
  }
  assert.equal(spans.length, 4, 'the four calls were stored')
  const dataset = await s.api('POST', '/v1/datasets', app.key, { name: 'live', kind: 'eval' })
  assert.equal(dataset.status, 201)
  const from = await s.api('POST', `/v3/evals/datasets/${dataset.body.id}/items/from-spans`, app.key, {
    application_id: app.id,
    ...range,
    spans: spans.map((span) => ({ trace_id: span.trace_id, span_id: span.span_id })),
    mapping: {
      inputs: { question: 'input_text', messages: 'input' },
      expected_outputs: { answer: 'output_text' },
    },
  })
  assert.equal(from.status, 200, JSON.stringify(from.body))
  const rows = (await s.api('GET', `/v1/datasets/${dataset.body.id}/items`, app.key)).body.items
  const plain = rows.find((r: any) => r.inputs.question === CONVERSATION.plain.question)
  assert.ok(plain, JSON.stringify(rows))
  assert.equal(plain.expected_outputs.answer, CONVERSATION.plain.answer)
  assert.equal(plain.inputs.messages[0].parts[0].content, CONVERSATION.plain.question)
  const streamed = rows.find((r: any) => r.inputs.question === CONVERSATION.stream.question)
  assert.equal(streamed.expected_outputs.answer, CONVERSATION.stream.answer)
})
