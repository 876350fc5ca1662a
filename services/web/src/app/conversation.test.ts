import assert from 'node:assert/strict'
import { test } from 'node:test'
import { conversationOf, fieldText, messagesIn, messagesOf, outputText, previewOf } from './conversation.ts'

// The span as the API's JSON gives it: attributes, and events with their attributes.
const toolSpan = {
  attributes: {
    'gen_ai.system_instructions': JSON.stringify([{ type: 'text', content: 'Be brief.' }]),
    'gen_ai.tool.definitions': JSON.stringify([{ type: 'function', name: 'get_weather', parameters: {} }]),
    'gen_ai.input.messages': JSON.stringify([
      {
        role: 'user',
        parts: [
          { type: 'text', content: 'Weather in this picture?' },
          { type: 'uri', modality: 'image', uri: 'https://example.test/cat.png' },
        ],
      },
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'c1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: '{"sky":"clear"}' }] },
    ]),
    'gen_ai.output.messages': [{ role: 'assistant', parts: [{ type: 'text', content: 'Clear skies.' }] }],
  },
  events: [],
}

test('a span JSON through the core model: system, tools, tool call and result, media, output', () => {
  const content = conversationOf(toolSpan)
  assert.equal(content.system, 'Be brief.')
  assert.deepEqual(
    content.tools.map((t) => t.name),
    ['get_weather'],
  )
  const messages = messagesOf(content)
  assert.deepEqual(
    messages.map((m) => m.role),
    ['system', 'user', 'assistant', 'tool', 'assistant'],
  )
  assert.deepEqual(messages[1]?.parts[1], {
    type: 'media',
    modality: 'image',
    url: 'https://example.test/cat.png',
  })
  assert.deepEqual(messages[2]?.parts[0], {
    type: 'tool_call',
    id: 'c1',
    name: 'get_weather',
    arguments: { city: 'Oslo' },
  })
  assert.deepEqual(messages[3]?.parts[0], { type: 'tool_result', id: 'c1', result: { sky: 'clear' } })
  assert.equal(previewOf(toolSpan, 'input'), '← {"sky":"clear"}')
  assert.equal(previewOf(toolSpan, 'output'), 'Clear skies.')
})

test('content sent as events (older GenAI events) reads the same; no content, no messages', () => {
  const content = conversationOf({
    attributes: {},
    events: [
      { name: 'gen_ai.system.message', attributes: { body: '{"content":"Be brief."}' } },
      { name: 'gen_ai.user.message', attributes: { body: '{"content":"hi"}' } },
      { name: 'gen_ai.choice', attributes: { body: '{"index":0,"message":{"content":"hello"}}' } },
      { name: 'exception', attributes: {} },
    ],
  })
  assert.equal(content.system, 'Be brief.')
  assert.deepEqual(
    messagesOf(content).map((m) => m.role),
    ['system', 'user', 'assistant'],
  )
  assert.deepEqual(messagesOf(conversationOf({ attributes: { 'http.method': 'GET' } })), [])
})

test('messagesIn: stored message lists (model or OpenAI, JSON text too); other values are not', () => {
  const stored = [
    { role: 'user', parts: [{ type: 'text', content: 'Hi' }] },
    { role: 'tool', parts: [{ type: 'tool_result', id: 'c1', result: { ok: true } }] },
  ]
  assert.deepEqual(messagesIn(stored), stored)
  assert.deepEqual(messagesIn(JSON.stringify(stored)), stored)
  assert.deepEqual(messagesIn([{ role: 'user', content: 'Hi' }]), [
    { role: 'user', parts: [{ type: 'text', content: 'Hi' }] },
  ])
  for (const value of ['plain', '[not json', 42, null, [], [1, 2], { role: 'user' }]) {
    assert.equal(messagesIn(value), undefined, JSON.stringify(value))
  }
})

test('outputText: the assistant text of a message list; other values as text', () => {
  const messages = [
    {
      role: 'assistant',
      parts: [
        { type: 'tool_call', id: '', name: 'f', arguments: {} },
        { type: 'text', content: 'Done.' },
      ],
    },
  ]
  assert.equal(outputText(messages), 'Done.')
  assert.equal(outputText(JSON.stringify(messages)), 'Done.')
  assert.equal(outputText('[not json'), '[not json')
  assert.equal(outputText('Plain answer'), 'Plain answer')
  assert.equal(outputText({ score: 1 }), '{"score":1}')
})

test('fieldText: message lists as role lines (tool calls named), plain values as they are', () => {
  const messages = [
    { role: 'user', parts: [{ type: 'text', content: 'Hi' }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'lookup', arguments: {} }] },
  ]
  assert.equal(fieldText(messages), 'user: Hi\nassistant: → lookup')
  assert.equal(fieldText('plain'), 'plain')
  assert.equal(fieldText(42), '42')
})
