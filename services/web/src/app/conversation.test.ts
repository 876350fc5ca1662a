import assert from 'node:assert/strict'
import { test } from 'node:test'
import { conversationOf, fieldText, outputText, previewOf } from './conversation.ts'

test('GenAI structured messages: roles, parts, tool calls and media', () => {
  const messages = conversationOf({
    attributes: {
      'gen_ai.input.messages': JSON.stringify([
        { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
        {
          role: 'user',
          parts: [
            { type: 'text', content: 'What is in this picture?' },
            { type: 'uri', modality: 'image', uri: 'https://example.test/cat.png' },
          ],
        },
      ]),
      'gen_ai.output.messages': [
        { role: 'assistant', parts: [{ type: 'tool_call', name: 'lookup', arguments: { q: 'cat' } }] },
      ],
    },
  })
  assert.deepEqual(
    messages.map((m) => m.role),
    ['system', 'user', 'assistant'],
  )
  assert.equal(messages[1]?.content, 'What is in this picture?')
  assert.deepEqual(messages[1]?.media, [{ kind: 'image', url: 'https://example.test/cat.png' }])
  assert.deepEqual(messages[2]?.toolCalls, [{ name: 'lookup', arguments: '{"q":"cat"}' }])
})

test('indexed gen_ai.prompt.N / gen_ai.completion.N, in index order (10 after 2)', () => {
  const attributes: Record<string, unknown> = {
    'gen_ai.completion.0.role': 'assistant',
    'gen_ai.completion.0.content': 'Refunds take 5 days.',
    'gen_ai.completion.0.tool_calls.0.name': 'refund_status',
    'gen_ai.completion.0.tool_calls.0.arguments': '{"id":1}',
  }
  for (let i = 0; i <= 10; i++) {
    attributes[`gen_ai.prompt.${i}.role`] = i === 0 ? 'system' : 'user'
    attributes[`gen_ai.prompt.${i}.content`] = `m${i}`
  }
  const messages = conversationOf({ attributes })
  assert.equal(messages.length, 12)
  assert.equal(messages[10]?.content, 'm10')
  assert.equal(messages.at(-1)?.content, 'Refunds take 5 days.')
  assert.deepEqual(messages.at(-1)?.toolCalls, [{ name: 'refund_status', arguments: '{"id":1}' }])
  assert.equal(previewOf({ attributes }, 'output'), 'Refunds take 5 days.')
})

test('OpenInference llm.input_messages with tool calls; plain gen_ai.prompt strings', () => {
  const messages = conversationOf({
    attributes: {
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'weather?',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': 'get_weather',
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': '{"city":"Oslo"}',
    },
  })
  assert.deepEqual(
    messages.map((m) => [m.role, m.content]),
    [
      ['user', 'weather?'],
      ['assistant', ''],
    ],
  )
  assert.deepEqual(messages[1]?.toolCalls, [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }])
  const plain = conversationOf({
    attributes: { 'gen_ai.prompt': 'Where is my refund?', 'gen_ai.completion': 'On its way.' },
  })
  assert.deepEqual(
    plain.map((m) => [m.role, m.content]),
    [
      ['user', 'Where is my refund?'],
      ['assistant', 'On its way.'],
    ],
  )
})

test('events when no attribute records messages; nothing when nothing does', () => {
  const messages = conversationOf({
    attributes: {},
    events: [
      { name: 'gen_ai.user.message', attributes: { content: 'hi' } },
      { name: 'gen_ai.choice', attributes: { message: '{"role":"assistant","content":"hello"}' } },
      { name: 'exception', attributes: {} },
    ],
  })
  assert.deepEqual(
    messages.map((m) => [m.role, m.content]),
    [
      ['user', 'hi'],
      ['assistant', 'hello'],
    ],
  )
  assert.deepEqual(conversationOf({ attributes: { 'http.method': 'GET' } }), [])
})

test('outputText: the assistant text of JSON messages; a plain string as it is', () => {
  const messages = JSON.stringify([
    {
      role: 'assistant',
      parts: [
        { type: 'tool_call', name: 'f', arguments: '{}' },
        { type: 'text', content: 'Done.' },
      ],
    },
  ])
  assert.equal(outputText(messages), 'Done.')
  assert.equal(outputText('[not json'), '[not json')
  assert.equal(outputText('Plain answer'), 'Plain answer')
})

test('fieldText: messages as role lines, plain values as they are', () => {
  const messages = JSON.stringify([
    { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
    { role: 'user', content: 'Hi' },
  ])
  assert.equal(fieldText(messages), 'system: Be brief.\nuser: Hi')
  assert.equal(fieldText('plain'), 'plain')
  assert.equal(fieldText(42), '42')
})
