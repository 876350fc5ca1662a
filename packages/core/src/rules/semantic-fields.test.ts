import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  indexedKeyPattern,
  isSemanticAlias,
  lastIndexedKey,
  resolveSemanticAlias,
  SEMANTIC_ALIASES,
} from './semantic-fields.ts'

test('aliases are input, output and model', () => {
  assert.deepEqual(Object.keys(SEMANTIC_ALIASES), ['input', 'output', 'model'])
  assert.equal(isSemanticAlias('input'), true)
  assert.equal(isSemanticAlias('constructor'), false)
})

test('the first convention with a value wins; null and non-finite numbers do not count', () => {
  const messages = [{ role: 'user', content: 'hi' }]
  assert.deepEqual(
    resolveSemanticAlias({ 'gen_ai.input.messages': messages, 'input.value': 'x' }, 'input'),
    messages,
  )
  assert.equal(resolveSemanticAlias({ 'gen_ai.input.messages': null, 'input.value': 'x' }, 'input'), 'x')
  assert.equal(
    resolveSemanticAlias({ 'gen_ai.request.model': Number.NaN, 'llm.model_name': 'm' }, 'model'),
    'm',
  )
  assert.equal(
    resolveSemanticAlias({ 'gen_ai.response.model': 'b', 'gen_ai.request.model': 'a' }, 'model'),
    'a',
  )
  assert.equal(resolveSemanticAlias({ 'traceloop.entity.output': 'o' }, 'output'), 'o')
  assert.equal(resolveSemanticAlias({}, 'output'), undefined)
})

test('indexed messages: the input is the last one, the output the first choice', () => {
  const attributes = {
    'gen_ai.prompt.0.content': 'system',
    'gen_ai.prompt.9.content': 'nine',
    'gen_ai.prompt.10.content': 'ten',
    'gen_ai.prompt.11.role': 'user',
    'gen_ai.prompt.012.content': 'leading zero: not an index',
    'gen_ai.completion.1.content': 'second',
    'gen_ai.completion.0.content': 'first',
  }
  assert.equal(resolveSemanticAlias(attributes, 'input'), 'ten')
  assert.equal(resolveSemanticAlias(attributes, 'output'), 'first')
  assert.equal(lastIndexedKey({}, { prefix: 'gen_ai.prompt.', suffix: '.content' }), undefined)
  assert.equal(
    indexedKeyPattern({ prefix: 'llm.input_messages.', suffix: '.message.content' }),
    '^llm\\.input_messages\\.(0|[1-9][0-9]{0,8})\\.message\\.content$',
  )
})
