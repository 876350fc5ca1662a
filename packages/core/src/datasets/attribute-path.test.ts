import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveAttributePath } from './attribute-path.ts'
import { testSpan } from './test-span.ts'

const span = testSpan()

test('built-ins resolve ahead of attributes', () => {
  assert.equal(resolveAttributePath(span, 'trace.id'), span.traceId)
  assert.equal(resolveAttributePath(span, 'span.id'), span.spanId)
  assert.equal(resolveAttributePath(span, 'span.name'), 'chat gpt-4o')
  assert.equal(resolveAttributePath(span, 'service.name'), 'support-bot')
  assert.equal(resolveAttributePath(span, 'span.start_time'), '2023-11-14T22:13:20.123456789Z')
  assert.equal(resolveAttributePath(span, 'span.duration_ns'), '1000000000')
  assert.equal(resolveAttributePath(span, 'span.status'), 'ok')
})

test('dotted attribute keys are one key; then resource attributes', () => {
  assert.equal(resolveAttributePath(span, 'gen_ai.request.model'), 'gpt-4o')
  assert.equal(resolveAttributePath(span, 'gen_ai.usage.input_tokens'), 42)
  assert.equal(resolveAttributePath(span, 'deployment.environment'), 'prod')
  assert.equal(resolveAttributePath(span, 'resource.service.name'), 'support-bot')
  assert.equal(resolveAttributePath(span, 'attributes.gen_ai.request.model'), 'gpt-4o')
  assert.equal(resolveAttributePath(span, 'attributes.deployment.environment'), undefined)
})

test('a path walks into structured values after the longest key prefix', () => {
  assert.deepEqual(resolveAttributePath(span, 'gen_ai.prompt'), [{ role: 'user', content: 'hi' }])
  assert.equal(resolveAttributePath(span, 'gen_ai.prompt.0.content'), 'hi')
  assert.equal(resolveAttributePath(span, 'gen_ai.prompt.1.content'), undefined)
  assert.equal(resolveAttributePath(span, 'gen_ai.prompt.x'), undefined)
})

test('missing paths resolve to undefined; a null attribute is null', () => {
  assert.equal(resolveAttributePath(span, 'no.such.key'), undefined)
  assert.equal(resolveAttributePath(span, ''), undefined)
  assert.equal(resolveAttributePath(span, 'nothing'), null)
})

test('a path walks into JSON held in a string attribute', () => {
  const s = testSpan({
    attributes: {
      'gen_ai.input.messages':
        '[{"role":"system","parts":[]},{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
      text: '{not json',
    },
  })
  assert.equal(resolveAttributePath(s, 'gen_ai.input.messages.1.parts.0.content'), 'hi')
  assert.deepEqual(resolveAttributePath(s, 'gen_ai.input.messages.0'), { role: 'system', parts: [] })
  assert.equal(resolveAttributePath(s, 'text.not'), undefined)
})

test('semantic aliases resolve after built-ins; attributes.<name> reaches a literal attribute', () => {
  const openInference = testSpan({
    attributes: { 'input.value': 'question', 'llm.model_name': 'claude', input: 'literal', constructor: 'c' },
  })
  assert.equal(resolveAttributePath(openInference, 'input_text'), 'question')
  assert.deepEqual(resolveAttributePath(openInference, 'input'), [
    { role: 'user', parts: [{ type: 'text', content: 'question' }] },
  ])
  assert.equal(resolveAttributePath(openInference, 'attributes.input'), 'literal')
  assert.equal(resolveAttributePath(openInference, 'model'), 'claude')
  assert.equal(resolveAttributePath(openInference, 'output'), undefined)
  assert.deepEqual(resolveAttributePath(span, 'input'), [
    { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
  ])
  assert.equal(resolveAttributePath(span, 'model'), 'gpt-4o')
  // Object.prototype's names are attribute keys like any other.
  assert.equal(resolveAttributePath(openInference, 'constructor'), 'c')
  assert.equal(resolveAttributePath(span, 'toString'), undefined)
})
