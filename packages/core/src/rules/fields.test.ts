import assert from 'node:assert/strict'
import { test } from 'node:test'
import { attributeType, classifyEventField, classifyField, fieldType, PREDICATE_BUILT_INS } from './fields.ts'

test('a path is a built-in, an alias, or an attribute key in a source', () => {
  assert.deepEqual(classifyField('span.kind'), { kind: 'built-in', name: 'span.kind' })
  assert.deepEqual(classifyField('input'), { kind: 'alias', name: 'input' })
  assert.deepEqual(classifyField('attributes.input'), {
    kind: 'attribute',
    source: 'attributes',
    key: 'input',
  })
  assert.deepEqual(classifyField('attributes.span.kind'), {
    kind: 'attribute',
    source: 'attributes',
    key: 'span.kind',
  })
  assert.deepEqual(classifyField('resource.service.name'), {
    kind: 'attribute',
    source: 'resource',
    key: 'service.name',
  })
  assert.deepEqual(classifyField('gen_ai.request.model'), {
    kind: 'attribute',
    source: 'span-then-resource',
    key: 'gen_ai.request.model',
  })
  assert.equal(classifyField('span.bogus').kind, 'refused')
  assert.equal(classifyField('constructor').kind, 'attribute')
  assert.deepEqual(classifyEventField('exception.type'), {
    kind: 'attribute',
    source: 'attributes',
    key: 'exception.type',
  })
  assert.equal(classifyEventField('span.name').kind, 'refused')
})

test('known types come from the conventions; the rest is unknown', () => {
  assert.equal(attributeType('gen_ai.usage.input_tokens'), 'number')
  assert.equal(attributeType('gen_ai.request.model'), 'string')
  assert.equal(attributeType('http.response.status_code'), 'number')
  assert.equal(attributeType('gen_ai.input.messages'), 'text')
  assert.equal(attributeType('gen_ai.response.finish_reasons'), 'array')
  assert.equal(attributeType('llm.input_messages.4.message.content'), 'string')
  assert.equal(attributeType('my.custom'), 'unknown')
  assert.equal(attributeType('constructor'), 'unknown')
  assert.equal(fieldType(classifyField('model')), 'string')
  assert.equal(fieldType(classifyField('span.duration_ms')), 'number')
  assert.deepEqual(Object.keys(PREDICATE_BUILT_INS['span.status'].codes), ['unset', 'ok', 'error'])
})
