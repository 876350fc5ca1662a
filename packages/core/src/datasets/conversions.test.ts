import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SpansiftError } from '../error-codes.ts'
import { rowToChatExample } from './chat-fine-tuning.ts'
import { decodeItemCursor, encodeItemCursor } from './cursor.ts'
import { testSpan } from './test-span.ts'
import { buildTraceRow } from './trace-row.ts'

test('cursors round-trip and foreign text is refused', () => {
  const cursor = {
    versionId: 123,
    createdAt: '2026-01-02T03:04:05.678Z',
    itemId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
  }
  assert.deepEqual(decodeItemCursor(encodeItemCursor(cursor)), cursor)
  assert.throws(
    () => decodeItemCursor('nope'),
    (e: unknown) => e instanceof SpansiftError && e.code === 'invalid_argument',
  )
  assert.throws(() => decodeItemCursor(Buffer.from('[1,"x","y"]').toString('base64url')))
})

test('chat fine-tuning: a single input becomes the user turn, the reviewed answer wins', () => {
  assert.deepEqual(
    rowToChatExample({
      inputs: { question: 'hi?' },
      expected_outputs: { answer: 'hello' },
      expectedOutput: null,
    }),
    {
      messages: [
        { role: 'user', content: 'hi?' },
        { role: 'assistant', content: 'hello' },
      ],
    },
  )
  assert.deepEqual(
    rowToChatExample({
      inputs: { system: 'be brief', q: 'a', ctx: 'b' },
      expected_outputs: { answer: 'x' },
      expectedOutput: 'reviewed',
    }),
    {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'q: a\nctx: b' },
        { role: 'assistant', content: 'reviewed' },
      ],
    },
  )
})

test('chat fine-tuning: recorded conversations are kept; rows without an answer are skipped', () => {
  const conversation = JSON.stringify([
    { role: 'system', content: 's' },
    { role: 'user', content: 'u' },
    { role: 'assistant', content: 'old' },
  ])
  assert.deepEqual(
    rowToChatExample({
      inputs: { messages: conversation },
      expected_outputs: { out: JSON.stringify([{ role: 'assistant', content: 'new' }]) },
      expectedOutput: null,
    }),
    {
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
        { role: 'assistant', content: 'new' },
      ],
    },
  )
  assert.equal(
    rowToChatExample({ inputs: { q: 'a' }, expected_outputs: {}, expectedOutput: null }),
    undefined,
  )
  assert.equal(
    rowToChatExample({ inputs: {}, expected_outputs: { a: 'b' }, expectedOutput: null }),
    undefined,
  )
})

const trace = [
  testSpan({
    spanId: 'aaaaaaaaaaaaaaaa',
    name: 'workflow',
    startTimeUnixNano: 10n,
    endTimeUnixNano: 100n,
    attributes: {},
  }),
  testSpan({
    spanId: 'bbbbbbbbbbbbbbbb',
    parentSpanId: 'aaaaaaaaaaaaaaaa',
    name: 'retrieve',
    startTimeUnixNano: 20n,
    endTimeUnixNano: 30n,
    attributes: { 'output.value': 'doc 1' },
  }),
  testSpan({
    spanId: 'cccccccccccccccc',
    parentSpanId: 'aaaaaaaaaaaaaaaa',
    name: 'chat',
    startTimeUnixNano: 40n,
    endTimeUnixNano: 90n,
    attributes: { 'gen_ai.prompt': 'question?', 'gen_ai.completion': 'answer.', 'gen_ai.request.model': 'm' },
  }),
  testSpan({
    spanId: 'dddddddddddddddd',
    parentSpanId: 'aaaaaaaaaaaaaaaa',
    name: 'retrieve',
    startTimeUnixNano: 50n,
    endTimeUnixNano: 60n,
    attributes: { k: 1 },
  }),
  testSpan({
    spanId: 'eeeeeeeeeeeeeeee',
    parentSpanId: 'cccccccccccccccc',
    name: 'grandchild',
    startTimeUnixNano: 45n,
  }),
]

test('add-trace, trace mode: anchors on the earliest root and borrows input/output from inside', () => {
  const { mode, anchor, row } = buildTraceRow([...trace].reverse())
  assert.equal(mode, 'trace')
  assert.equal(anchor.spanId, 'aaaaaaaaaaaaaaaa')
  assert.deepEqual(row.inputs, { input: 'question?' })
  assert.deepEqual(row.expected_outputs, { output: 'answer.' })
  assert.equal(row.metadata.span_name, 'workflow')
})

test('add-trace, span mode: the span and its direct children become the columns', () => {
  const { mode, anchor, row } = buildTraceRow(trace, 'aaaaaaaaaaaaaaaa')
  assert.equal(mode, 'span')
  assert.equal(anchor.name, 'workflow')
  assert.deepEqual(row.inputs, { retrieve: 'doc 1', chat: 'answer.', 'retrieve #2': '{"k":1}' })
  assert.throws(
    () => buildTraceRow(trace, 'ffffffffffffffff'),
    (e: unknown) => e instanceof SpansiftError && e.code === 'not_found',
  )
})
