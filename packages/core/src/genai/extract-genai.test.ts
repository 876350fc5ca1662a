import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveSemanticAlias } from '../datasets/attribute-path.ts'
import { testSpan } from '../datasets/test-span.ts'
import { extractGenAi } from './extract-genai.ts'
import { CAPTURE_SCENARIOS, CONVERSATION, loadCapture } from './test-genai-captures.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'

for (const scenario of CAPTURE_SCENARIOS) {
  test(`${scenario}: every call reads as the same conversation`, () => {
    const spans = loadCapture(scenario, APP)
    assert.equal(spans.length, 4, 'plain, streaming, tool call, tool answer')
    const [plain, stream, call, answer] = spans as [never, never, never, never]
    const alias = (span: never, name: Parameters<typeof resolveSemanticAlias>[1]) =>
      resolveSemanticAlias(span, name)

    assert.equal(alias(plain, 'input_text'), CONVERSATION.plain.question)
    assert.equal(alias(plain, 'output_text'), CONVERSATION.plain.answer)
    assert.equal(alias(plain, 'system'), CONVERSATION.system)
    assert.deepEqual(alias(plain, 'input'), [
      { role: 'user', parts: [{ type: 'text', content: CONVERSATION.plain.question }] },
    ])
    assert.equal(extractGenAi(plain).output[0]!.finish_reason, 'stop')
    assert.equal(alias(plain, 'model'), CONVERSATION.requestModel)
    assert.equal(alias(plain, 'response_model'), CONVERSATION.responseModel)

    assert.equal(alias(stream, 'input_text'), CONVERSATION.stream.question)
    assert.equal(alias(stream, 'output_text'), CONVERSATION.stream.answer)

    const toolCall = extractGenAi(call).output[0]?.parts.find((p) => p.type === 'tool_call')
    assert.deepEqual(toolCall, {
      type: 'tool_call',
      id: 'call_weather_1',
      name: 'get_weather',
      arguments: CONVERSATION.tool.arguments,
    })
    assert.equal(alias(call, 'output_text'), undefined, 'a tool call is no answer text')
    const tools = alias(call, 'tools') as Array<{ name: string }> | undefined
    if (scenario !== 'openai-v2-events-legacy') assert.equal(tools?.[0]?.name, 'get_weather') // v1.30 events carry no tools

    const content = extractGenAi(answer)
    assert.deepEqual(
      content.input.map((m) => m.role),
      ['user', 'assistant', 'tool'],
    )
    assert.deepEqual(content.input[2]!.parts, [
      { type: 'tool_result', id: 'call_weather_1', result: CONVERSATION.tool.result },
    ])
    assert.equal(alias(answer, 'input_text'), CONVERSATION.tool.question)
    assert.equal(alias(answer, 'output_text'), CONVERSATION.tool.answer)
  })
}

test('OpenInference: the raw bodies are a last resort, by mime type', () => {
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'from the body' }] })
  const span = testSpan({
    attributes: {
      'input.value': body,
      'input.mime_type': 'application/json',
      'output.value': 'plain answer',
      'output.mime_type': 'text/plain',
    },
  })
  assert.equal(resolveSemanticAlias(span, 'input_text'), 'from the body')
  assert.equal(resolveSemanticAlias(span, 'output_text'), 'plain answer')
  const withMessages = testSpan({
    attributes: {
      'input.value': body,
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'from the messages',
    },
  })
  assert.equal(resolveSemanticAlias(withMessages, 'input_text'), 'from the messages')
})

test('media parts: image URLs, data, hosted files', () => {
  const span = testSpan({
    attributes: {
      'gen_ai.input.messages': [
        {
          role: 'user',
          parts: [
            { type: 'text', content: 'What is this?' },
            { type: 'uri', modality: 'image', uri: 'https://example.com/cat.png' },
            { type: 'blob', modality: 'image', mime_type: 'image/png', content: 'iVBORw0KGgo=' },
            { type: 'file', modality: 'document', mime_type: 'application/pdf', file_id: 'file-123' },
          ],
        },
      ],
    },
  })
  assert.deepEqual(extractGenAi(span).input[0]!.parts.slice(1), [
    { type: 'media', modality: 'image', url: 'https://example.com/cat.png' },
    { type: 'media', modality: 'image', mime_type: 'image/png', data: 'iVBORw0KGgo=' },
    { type: 'media', modality: 'pdf', mime_type: 'application/pdf', path: 'file-123' },
  ])
})

test('content span events: gen_ai.content.prompt / gen_ai.content.completion', () => {
  const span = testSpan({
    attributes: {},
    events: [
      {
        timeUnixNano: 1n,
        name: 'gen_ai.content.prompt',
        attributes: { 'gen_ai.prompt': '[{"role": "user", "content": "hello?"}]' },
      },
      {
        timeUnixNano: 2n,
        name: 'gen_ai.content.completion',
        attributes: { 'gen_ai.completion': '[{"role": "assistant", "content": "hi"}]' },
      },
    ],
  })
  assert.equal(resolveSemanticAlias(span, 'input_text'), 'hello?')
  assert.equal(resolveSemanticAlias(span, 'output_text'), 'hi')
})

test('log-record events: the body under `body`, an object or plain text', () => {
  const span = testSpan({
    attributes: {},
    events: [
      { timeUnixNano: 1n, name: 'gen_ai.system.message', attributes: { body: { content: 'be brief' } } },
      {
        timeUnixNano: 2n,
        name: 'gen_ai.user.message',
        attributes: { 'gen_ai.system': 'openai', body: 'plain question' },
      },
      {
        timeUnixNano: 3n,
        name: 'gen_ai.choice',
        attributes: { body: '{"index":0,"message":{"content":"an answer"}}' },
      },
    ],
  })
  assert.equal(resolveSemanticAlias(span, 'system'), 'be brief')
  assert.equal(resolveSemanticAlias(span, 'input_text'), 'plain question')
  assert.equal(resolveSemanticAlias(span, 'output_text'), 'an answer')
})
