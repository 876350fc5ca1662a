import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveSemanticAlias } from '../datasets/attribute-path.ts'
import { testSpan } from '../datasets/test-span.ts'
import type { Attributes } from '../span-model.ts'
import { ALIAS_NAMES, EXACT_SQL_ALIASES, isSemanticAlias } from './semantic-fields.ts'

const span = (attributes: Attributes) => testSpan({ attributes })

test('the aliases, and which of them SQL compiles exactly', () => {
  assert.deepEqual(ALIAS_NAMES, [
    'input',
    'output',
    'input_text',
    'output_text',
    'system',
    'tools',
    'prompt_variables',
    'model',
    'response_model',
  ])
  assert.deepEqual(EXACT_SQL_ALIASES, ['model', 'response_model'])
  assert.equal(isSemanticAlias('input_text'), true)
  assert.equal(isSemanticAlias('constructor'), false)
})

test('model is the request model, falling back to the response model, in every convention', () => {
  assert.equal(
    resolveSemanticAlias(span({ 'gen_ai.response.model': 'b', 'gen_ai.request.model': 'a' }), 'model'),
    'a',
  )
  // OpenInference: llm.model_name is the response model; the request model is in the invocation parameters.
  const openInference = span({
    'llm.model_name': 'gpt-4o-2024',
    'llm.invocation_parameters': '{"model": "gpt-4o"}',
  })
  assert.equal(resolveSemanticAlias(openInference, 'model'), 'gpt-4o')
  assert.equal(resolveSemanticAlias(openInference, 'response_model'), 'gpt-4o-2024')
  assert.equal(
    resolveSemanticAlias(span({ 'gen_ai.request.model': Number.NaN, 'llm.model_name': 'm' }), 'model'),
    'm',
  )
  assert.equal(resolveSemanticAlias(span({}), 'response_model'), undefined)
})

test('message aliases: the messages, the last user text, the answer text', () => {
  const s = span({
    'gen_ai.input.messages': JSON.stringify([
      { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
      { role: 'user', parts: [{ type: 'text', content: 'first' }] },
      { role: 'assistant', parts: [{ type: 'text', content: 'ok' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Where is my refund?' }] },
    ]),
    'gen_ai.output.messages': [{ role: 'assistant', parts: [{ type: 'text', content: 'It ships.' }] }],
  })
  assert.equal(resolveSemanticAlias(s, 'input_text'), 'Where is my refund?')
  assert.equal(resolveSemanticAlias(s, 'output_text'), 'It ships.')
  assert.equal(resolveSemanticAlias(s, 'system'), 'be brief')
  const input = resolveSemanticAlias(s, 'input') as Array<{ role: string }>
  assert.deepEqual(
    input.map((m) => m.role),
    ['user', 'assistant', 'user'],
  )
  assert.equal(resolveSemanticAlias(span({}), 'input'), undefined)
  assert.equal(resolveSemanticAlias(span({}), 'input_text'), undefined)
})

test('indexed messages: every index in order, roles and tool calls kept', () => {
  const s = span({
    'gen_ai.prompt.0.role': 'user',
    'gen_ai.prompt.0.content': 'nine',
    'gen_ai.prompt.10.role': 'user',
    'gen_ai.prompt.10.content': 'ten',
    'gen_ai.prompt.2.role': 'assistant',
    'gen_ai.prompt.2.tool_calls.0.id': 'c1',
    'gen_ai.prompt.2.tool_calls.0.name': 'lookup',
    'gen_ai.prompt.2.tool_calls.0.arguments': '{"q": 1}',
    'gen_ai.prompt.012.content': 'leading zero: not an index',
    'gen_ai.completion.1.content': 'second',
    'gen_ai.completion.0.content': 'first',
  })
  assert.equal(resolveSemanticAlias(s, 'input_text'), 'ten')
  assert.equal(resolveSemanticAlias(s, 'output_text'), 'first')
  assert.deepEqual(resolveSemanticAlias(s, 'input'), [
    { role: 'user', parts: [{ type: 'text', content: 'nine' }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'lookup', arguments: { q: 1 } }] },
    { role: 'user', parts: [{ type: 'text', content: 'ten' }] },
  ])
})

test('prompt variables: OpenInference JSON, GenAI per-variable attributes', () => {
  assert.deepEqual(
    resolveSemanticAlias(span({ 'llm.prompt_template.variables': '{"city": "Paris"}' }), 'prompt_variables'),
    { city: 'Paris' },
  )
  assert.deepEqual(
    resolveSemanticAlias(
      span({ 'gen_ai.prompt.variable.city': 'Rome', 'gen_ai.prompt.variable.n': 2 }),
      'prompt_variables',
    ),
    { city: 'Rome', n: 2 },
  )
})
