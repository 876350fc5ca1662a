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
  assert.throws(() => decodeItemCursor('1_x_y'))
})

test('chat fine-tuning: a single input becomes the user turn, the reviewed answer wins', () => {
  assert.deepEqual(
    rowToChatExample({
      inputs: { question: 'hi?' },
      expected_outputs: { answer: 'hello' },
      expectedOutput: null,
    }),
    {
      ok: true,
      example: {
        messages: [
          { role: 'user', content: 'hi?' },
          { role: 'assistant', content: 'hello' },
        ],
      },
    },
  )
  assert.deepEqual(
    rowToChatExample({
      inputs: { system: 'be brief', q: 'a', ctx: 'b' },
      expected_outputs: { answer: 'x' },
      expectedOutput: 'reviewed',
    }),
    {
      ok: true,
      example: {
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'q: a\nctx: b' },
          { role: 'assistant', content: 'reviewed' },
        ],
      },
    },
  )
})

test('chat fine-tuning: recorded conversations are kept; rows without an answer are named', () => {
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
      ok: true,
      example: {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'u' },
          { role: 'assistant', content: 'new' },
        ],
      },
    },
  )
  assert.deepEqual(rowToChatExample({ inputs: { q: 'a' }, expected_outputs: {}, expectedOutput: null }), {
    ok: false,
    reason: 'no assistant answer (expected_output or expected_outputs)',
  })
  assert.deepEqual(rowToChatExample({ inputs: {}, expected_outputs: { a: 'b' }, expectedOutput: null }), {
    ok: false,
    reason: 'no user message in the inputs',
  })
})

test('chat fine-tuning: message-model rows keep tool calls, tool results, tools and images', () => {
  const conversion = rowToChatExample({
    inputs: {
      system: 'You are terse.',
      messages: [
        {
          role: 'user',
          parts: [
            { type: 'text', content: 'Weather in Paris? And this photo?' },
            { type: 'media', modality: 'image', url: 'https://example.com/p.png' },
          ],
        },
        {
          role: 'assistant',
          parts: [{ type: 'tool_call', id: 'c1', name: 'get_weather', arguments: { city: 'Paris' } }],
        },
        { role: 'tool', parts: [{ type: 'tool_result', id: 'c1', result: { temperature_c: 18 } }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather.', parameters: { type: 'object' } }],
    },
    expected_outputs: { answer: [{ role: 'assistant', parts: [{ type: 'text', content: '18 degrees.' }] }] },
    expectedOutput: null,
  })
  assert.deepEqual(conversion, {
    ok: true,
    example: {
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in Paris? And this photo?' },
            { type: 'image_url', image_url: { url: 'https://example.com/p.png' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{"temperature_c":18}' },
        { role: 'assistant', content: '18 degrees.' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather.', parameters: { type: 'object' } },
        },
      ],
    },
  })
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
  assert.deepEqual(row.inputs, { input: [{ role: 'user', parts: [{ type: 'text', content: 'question?' }] }] })
  assert.deepEqual(row.expected_outputs, {
    output: [{ role: 'assistant', parts: [{ type: 'text', content: 'answer.' }] }],
  })
  assert.equal(row.metadata.span_name, 'workflow')
})

test('add-trace, span mode: the span and its direct children become the columns', () => {
  const { mode, anchor, row } = buildTraceRow(trace, 'aaaaaaaaaaaaaaaa')
  assert.equal(mode, 'span')
  assert.equal(anchor.name, 'workflow')
  assert.deepEqual(row.inputs, { retrieve: 'doc 1', chat: 'answer.', 'retrieve #2': { k: 1 } })
  assert.throws(
    () => buildTraceRow(trace, 'ffffffffffffffff'),
    (e: unknown) => e instanceof SpansiftError && e.code === 'not_found',
  )
})
