import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveAttributePath } from './datasets/attribute-path.ts'
import { testSpan } from './datasets/test-span.ts'
import { toDatasetValue } from './datasets/values.ts'
import { exactInteger, exactIntegerValue, isExactInteger, parseJsonExact } from './exact-integer.ts'
import { toAttributeValue } from './otlp/attributes.ts'
import { spansToExportRequest } from './otlp/spans-to-request.ts'
import { compilePredicate } from './rules/compile-js.ts'
import { redactRow } from './rules/redaction.ts'
import { spanToJson } from './span-json.ts'

// The 64-bit rule: an integer attribute value is a JSON number with its exact digits,
// whatever its size; below 2^53 a JS number, past it an ExactInteger.
const INT64_MAX = 9223372036854775807n
const big = exactInteger(INT64_MAX)

test('a safe integer stays a number; past ±(2^53−1) an exact integer', () => {
  assert.equal(exactInteger(412n), 412)
  assert.equal(exactInteger(9007199254740991n), Number.MAX_SAFE_INTEGER)
  assert.ok(isExactInteger(exactInteger(9007199254740992n)))
  assert.ok(isExactInteger(exactInteger(-9223372036854775808n)))
  assert.equal(exactIntegerValue(big as never), INT64_MAX)
  assert.equal(toAttributeValue({ type: 'int', value: 412n }), 412)
  assert.ok(isExactInteger(toAttributeValue({ type: 'int', value: INT64_MAX })))
})

test('JSON writes its exact digits as a number, and parseJsonExact reads them back', () => {
  const text = JSON.stringify({ id: big, tokens: 412, nested: [big] })
  assert.equal(text, '{"id":9223372036854775807,"tokens":412,"nested":[9223372036854775807]}')
  const back = parseJsonExact(text) as { id: unknown; tokens: unknown; nested: unknown[] }
  assert.ok(isExactInteger(back.id))
  assert.equal(back.tokens, 412)
  assert.equal(JSON.stringify(back), text)
  // A double past 2^53 written with a fraction or exponent stays a double.
  assert.equal(parseJsonExact('1e300'), 1e300)
  assert.equal(parseJsonExact('9007199254740993.5'), 9007199254740994)
  // Long digit runs that are not integers past 2^53 come back as JSON.parse gives them.
  assert.deepEqual(parseJsonExact('{"a":"12345678901234567890","b":1234567890123456}'), {
    a: '12345678901234567890',
    b: 1234567890123456,
  })
  // The extra reviver sees the exact value.
  assert.deepEqual(
    parseJsonExact('{"a":1}', (_k, v) => (v === 1 ? 2 : v)),
    { a: 2 },
  )
})

test('the API view of a span writes the integer exactly', () => {
  const span = testSpan({ attributes: { 'request.id': big, 'gen_ai.usage.input_tokens': 412 } })
  assert.match(
    JSON.stringify(spanToJson(span)),
    /"request\.id":9223372036854775807,"gen_ai\.usage\.input_tokens":412/,
  )
})

test('the bus carries it as an OTLP int', () => {
  const request = spansToExportRequest([testSpan({ attributes: { 'request.id': big } })])
  const attribute = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.find(
    (a) => a.key === 'request.id',
  )
  assert.deepEqual(attribute?.value, { type: 'int', value: INT64_MAX })
})

test('a dataset cell keeps it exact, alone and inside a structure, and redaction leaves it alone', () => {
  const span = testSpan({ attributes: { 'request.id': big, list: [big, 'x'] } })
  const cell = toDatasetValue(resolveAttributePath(span, 'request.id'))
  assert.ok(isExactInteger(cell))
  const list = toDatasetValue(resolveAttributePath(span, 'list')) as unknown[]
  assert.ok(isExactInteger(list[0]))
  const row = { inputs: { id: cell!, list: list as never }, expected_outputs: {}, metadata: {}, extras: {} }
  const redacted = redactRow(row, {
    detectors: ['credit_card', 'phone'],
    patterns: [{ name: 'digits', regex: '\\d+' }],
  })
  assert.equal(
    JSON.stringify(redacted.row.inputs),
    '{"id":9223372036854775807,"list":[9223372036854775807,"x"]}',
  )
  assert.deepEqual(redacted.redactedFields, [])
})

test('rules compare it as a number (as SQL reads its digits), never as text', () => {
  const span = testSpan({ attributes: { 'request.id': big } })
  assert.equal(compilePredicate({ field: 'request.id', gt: 1e18 })(span), true)
  assert.equal(compilePredicate({ field: 'request.id', lt: 1e18 })(span), false)
  assert.equal(compilePredicate({ field: 'request.id', exists: true })(span), true)
  assert.equal(compilePredicate({ field: 'request.id', contains: '922' })(span), false)
})
