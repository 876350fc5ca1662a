import assert from 'node:assert/strict'
import { test } from 'node:test'
import { applyMapping, unresolvedMappingFields, unresolvedMappingWarning } from './mapping.ts'
import { testSpan } from './test-span.ts'
import { mediaReference, toDatasetValue } from './values.ts'

test('the mapping fills each bucket; missing and null paths are left out', () => {
  const row = applyMapping(testSpan(), {
    inputs: { question: 'gen_ai.request.user_message', absent: 'no.such', nulled: 'nothing' },
    expected_outputs: { answer: 'gen_ai.completion.content' },
    metadata: { trace_id: 'trace.id', model: 'gen_ai.request.model', tokens: 'gen_ai.usage.input_tokens' },
    extras: { prompt: 'gen_ai.prompt' },
  })
  assert.deepEqual(row, {
    inputs: { question: 'Where is my order?' },
    expected_outputs: { answer: 'It ships tomorrow.' },
    metadata: { trace_id: '0af7651916cd43dd8448eb211c80319c', model: 'gpt-4o', tokens: 42 },
    extras: { prompt: [{ role: 'user', content: 'hi' }] },
  })
})

test('images and PDFs as URLs, paths or data URIs become references; other text stays text', () => {
  assert.deepEqual(toDatasetValue('https://cdn.example.com/a/cat.PNG?x=1'), {
    type: 'image',
    ref: 'https://cdn.example.com/a/cat.PNG?x=1',
  })
  assert.deepEqual(toDatasetValue('/uploads/invoice.pdf'), { type: 'pdf', ref: '/uploads/invoice.pdf' })
  assert.deepEqual(toDatasetValue('data:image/jpeg;base64,/9j/4AAQ'), {
    type: 'image',
    ref: 'data:image/jpeg;base64,/9j/4AAQ',
  })
  assert.deepEqual(toDatasetValue('data:application/pdf;base64,JVBERi0='), {
    type: 'pdf',
    ref: 'data:application/pdf;base64,JVBERi0=',
  })
  assert.equal(mediaReference('data:text/plain;base64,aGk='), undefined)
  assert.equal(
    toDatasetValue('see https://example.com/cat.png for details'),
    'see https://example.com/cat.png for details',
  )
  assert.equal(toDatasetValue('https://example.com/page'), 'https://example.com/page')
  assert.equal(toDatasetValue('and/or'), 'and/or')
  assert.equal(toDatasetValue(true), true)
  assert.deepEqual(toDatasetValue({ a: [1, 2, Number.NaN] }), { a: [1, 2, null] })
  assert.equal(toDatasetValue(null), undefined)
})

test('a mapping field that resolves in no row is named in a warning', () => {
  const mapping = {
    inputs: { question: 'input_text', model: 'model' },
    expected_outputs: { answer: 'output_text' },
  }
  const withContent = testSpan({
    attributes: { 'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"q"}]}]' },
  })
  const rows = [applyMapping(testSpan({ attributes: {} }), mapping), applyMapping(withContent, mapping)]
  const fields = unresolvedMappingFields(mapping, rows)
  assert.deepEqual(fields, ['inputs.model', 'expected_outputs.answer'])
  assert.equal(
    unresolvedMappingWarning(mapping, fields, rows.length),
    'mapping resolved to nothing in all 2 rows: inputs.model (model), expected_outputs.answer (output_text)',
  )
  assert.deepEqual(unresolvedMappingFields(mapping, []), [])
  assert.equal(unresolvedMappingWarning(mapping, [], 3), undefined)
})
