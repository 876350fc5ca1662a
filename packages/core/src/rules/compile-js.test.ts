import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { resolveAttributePath } from '../datasets/attribute-path.ts'
import { testSpan } from '../datasets/test-span.ts'
import type { Attributes, AttributeValue, Span } from '../span-model.ts'
import { compilePredicate, compileRegexMatcher } from './compile-js.ts'
import type { Predicate } from './predicate.ts'
import { checkPredicate, PredicateCompileError, parseRegex } from './predicate-check.ts'
import { hasValue } from './semantic-fields.ts'

const span = testSpan({
  kind: 3,
  statusCode: 2,
  statusMessage: 'rate limited',
  durationNano: 1_500_000n,
  attributes: {
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 42,
    'gen_ai.input.messages': [{ role: 'user', content: 'Where is my refund?' }],
    five: '5',
    nothing: null,
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    a: { b: [{ c: 'deep' }, 7] },
    'a.b': 'the key wins',
    list: [1, 2],
    flag: false,
    constructor: 'an attribute named constructor',
  },
  resourceAttributes: { 'service.name': 'support-bot', 'deployment.environment': 'prod', region: 'eu' },
  events: [
    { timeUnixNano: 1n, name: 'gen_ai.choice', attributes: { index: 0, message: { content: 'Tomorrow' } } },
    { timeUnixNano: 2n, name: 'exception', attributes: { 'exception.type': 'TimeoutError' } },
  ],
})

const holds = (p: Predicate, s: Span = span) => compilePredicate(p)(s)

test('built-ins', () => {
  assert.equal(holds({ field: 'span.name', equals: 'chat gpt-4o' }), true)
  assert.equal(holds({ field: 'span.kind', equals: 'client' }), true)
  assert.equal(holds({ field: 'span.kind', not_in: ['server', 'internal'] }), true)
  assert.equal(holds({ field: 'span.status', equals: 'error' }), true)
  assert.equal(holds({ field: 'span.status_message', contains: 'limit' }), true)
  assert.equal(holds({ field: 'span.duration_ms', equals: 1.5 }), true)
  assert.equal(holds({ field: 'span.duration_ms', gt: 1.5 }), false)
  assert.equal(holds({ field: 'span.parent_id', equals: '' }), true)
  assert.equal(holds({ field: 'span.parent_id', exists: true }), true)
  assert.equal(holds({ field: 'trace.id', starts_with: '0af7' }), true)
  assert.equal(holds({ field: 'service.name', matches: '^support-' }), true)
})

test('typed comparisons: never coerced', () => {
  assert.equal(holds({ field: 'gen_ai.usage.input_tokens', gt: 41 }), true)
  assert.equal(holds({ field: 'five', equals: '5' }), true)
  assert.equal(holds({ field: 'five', equals: 5 }), false)
  assert.equal(holds({ field: 'five', gt: 4 }), false)
  assert.equal(holds({ field: 'flag', equals: false }), true)
  assert.equal(holds({ field: 'flag', equals: 'false' }), false)
  assert.equal(holds({ field: 'list', equals: '[1,2]' }), false)
})

test('missing, null and non-finite values', () => {
  for (const field of ['nothing', 'nan', 'inf', 'no.such.key']) {
    assert.equal(holds({ field, exists: true }), false, field)
    assert.equal(holds({ field, missing: true }), true, field)
    assert.equal(holds({ field, not_equals: 'x' }), false, `${field}: not_equals is "present and different"`)
    assert.equal(holds({ field, not_in: [1] }), false, field)
    assert.equal(holds({ not: { field, equals: 'x' } }), true, field)
  }
  assert.equal(holds({ field: 'inf', gt: 0 }), false)
  assert.equal(holds({ field: 'five', not_equals: 5 }), true, 'present, of another type')
})

test('fields: attribute, then resource; forced sources; walking; inherited names', () => {
  assert.equal(holds({ field: 'deployment.environment', equals: 'prod' }), true)
  assert.equal(holds({ field: 'attributes.deployment.environment', exists: true }), false)
  assert.equal(holds({ field: 'resource.region', equals: 'eu' }), true)
  assert.equal(holds({ field: 'a.b', equals: 'the key wins' }), true)
  assert.equal(holds({ field: 'a.b.0.c', equals: 'deep' }), true)
  assert.equal(holds({ field: 'a.b.1', equals: 7 }), true)
  assert.equal(holds({ field: 'list.1', equals: 2 }), true)
  assert.equal(holds({ field: 'list.x', exists: true }), false)
  assert.equal(holds({ field: 'constructor', contains: 'named' }), true)
  assert.equal(holds({ field: 'toString', exists: true }), false)
  assert.equal(holds({ field: 'a.constructor', exists: true }), false)
})

test('text operators: strings, and whole structured attributes through their JSON text', () => {
  assert.equal(holds({ field: 'input', contains: 'refund' }), true)
  assert.equal(holds({ field: 'gen_ai.input.messages', contains: '"role":"user"' }), true)
  assert.equal(holds({ field: 'gen_ai.input.messages', equals: 'x' }), false)
  // A structure reached by walking has no text.
  assert.equal(holds({ field: 'a.b', contains: 'deep' }), false)
  assert.equal(holds({ field: 'a.b.0', contains: 'deep' }), false)
  assert.equal(holds({ field: 'gen_ai.usage.input_tokens', exists: true }), true)
})

test('events', () => {
  assert.equal(holds({ event: { name: 'exception' } }), true)
  assert.equal(
    holds({ event: { name: 'exception', where: { field: 'exception.type', ends_with: 'Timeout' } } }),
    false,
  )
  assert.equal(
    holds({ event: { name: 'exception', where: { field: 'exception.type', ends_with: 'Error' } } }),
    true,
  )
  assert.equal(
    holds({ event: { name: 'gen_ai.choice', where: { field: 'message.content', equals: 'Tomorrow' } } }),
    true,
  )
  assert.equal(holds({ event: { name: 'gen_ai.choice', where: { field: 'index', equals: 0 } } }), true)
  assert.equal(
    holds({ event: { name: 'gen_ai.choice', where: { field: 'message', contains: 'Tomorrow' } } }),
    false,
  )
  assert.equal(holds({ event: { name: 'nope' } }), false)
})

test('combinators', () => {
  const t = { field: 'span.kind', equals: 'client' } as const
  const f = { field: 'span.kind', equals: 'server' } as const
  assert.equal(holds({ all: [t, t, t, t] }), true)
  assert.equal(holds({ all: [t, t, t, f] }), false)
  assert.equal(holds({ any: [f, f, f, t] }), true)
  assert.equal(holds({ any: [f] }), false)
  assert.equal(holds({ not: { any: [f, f] } }), true)
})

test('semantic aliases, by convention and priority', () => {
  const withAttributes = (attributes: Attributes) => testSpan({ attributes })
  const input = (attributes: Attributes, expected: string) =>
    assert.equal(holds({ field: 'input_text', equals: expected }, withAttributes(attributes)), true, expected)
  input({ 'gen_ai.prompt': 'old genai', 'input.value': 'openinference' }, 'old genai')
  input({ 'input.value': 'raw body', 'llm.input_messages.0.message.content': 'msg' }, 'msg')
  input({ 'traceloop.entity.input': 'workflow input' }, 'workflow input')
  input(
    {
      'gen_ai.prompt.0.content': 'system',
      'gen_ai.prompt.2.content': 'last',
      'gen_ai.prompt.10.role': 'user',
    },
    'last',
  )
  input({ 'llm.input_messages.0.message.content': 'a', 'llm.input_messages.11.message.content': 'b' }, 'b')
  input({ 'gen_ai.input.messages': null, 'input.value': 'skips null' }, 'skips null')
  input({ input: 'literal' }, 'literal')
  const output = withAttributes({
    'gen_ai.completion.0.content': 'first choice',
    'gen_ai.completion.1.content': 'x',
  })
  assert.equal(holds({ field: 'output_text', equals: 'first choice' }, output), true)
  assert.equal(holds({ field: 'output', contains: '"content":"first choice"' }, output), true)
  const model = withAttributes({
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.request.model': 'gpt-4o',
  })
  assert.equal(holds({ field: 'model', equals: 'gpt-4o' }, model), true)
  assert.equal(holds({ field: 'response_model', equals: 'gpt-4o-2024-08-06' }, model), true)
  assert.equal(
    holds({ field: 'model', equals: 'claude' }, withAttributes({ 'llm.model_name': 'claude' })),
    true,
  )
  assert.equal(holds({ field: 'model', missing: true }, withAttributes({})), true)
})

test('paths walk into JSON held in a string attribute', () => {
  const s = testSpan({
    attributes: {
      'gen_ai.input.messages':
        '[{"role":"system","parts":[]},{"role":"user","parts":[{"type":"text","content":"hi there"}]}]',
    },
  })
  assert.equal(holds({ field: 'gen_ai.input.messages.1.parts.0.content', equals: 'hi there' }, s), true)
  assert.equal(holds({ field: 'gen_ai.input.messages.1.role', equals: 'user' }, s), true)
  assert.equal(holds({ field: 'gen_ai.input.messages.2.role', exists: true }, s), false)
})

test('refused predicates do not compile', () => {
  assert.throws(() => compilePredicate({ field: 'span.kind', equals: 'clientt' }), PredicateCompileError)
  assert.throws(() => compilePredicate({ field: 'x', matches: '(?=a)' }), /lookahead/)
})

// Field resolution is resolveAttributePath's (dataset mapping), null counting as missing.
const KEYS = [
  'a',
  'a.b',
  'a.b.c',
  'b',
  'input',
  'input.value',
  'gen_ai.prompt.1.content',
  'model',
  'constructor',
]
const PATHS = [
  ...KEYS,
  'a.b.c.d',
  'a.0',
  'a.0.b',
  'a.b.1',
  'attributes.a.b',
  'resource.a',
  'resource.a.0',
  'output',
]
const { value } = fc.letrec<{ value: AttributeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('x', 'y', '', 1, 0, Number.NaN, true, null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('0', '1', 'b', 'c', 'd', 'constructor'), tie('value'), {
      maxKeys: 3,
      noNullPrototype: true,
    }),
  ),
}))

test('a field means what resolveAttributePath resolves it to', () => {
  const attributes = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 5, noNullPrototype: true })
  fc.assert(
    fc.property(
      attributes,
      attributes,
      fc.constantFrom(...PATHS),
      fc.constantFrom('x', 1, true),
      (a, r, path, x) => {
        fc.pre(checkPredicate({ field: path, equals: x }).length === 0)
        const s = testSpan({ attributes: a, resourceAttributes: r })
        const resolved = resolveAttributePath(s, path)
        assert.equal(holds({ field: path, exists: true }, s), hasValue(resolved))
        assert.equal(holds({ field: path, equals: x }, s), resolved === x)
        assert.equal(holds({ field: path, not_equals: x }, s), hasValue(resolved) && resolved !== x)
      },
    ),
    { numRuns: 2000 },
  )
})

// --- Regular expressions ---

test('regexes: literal fast paths and the NFA', () => {
  const m = (p: string, t: string) => compileRegexMatcher(p)(t)
  assert.equal(m('refund', 'a refund please'), true)
  assert.equal(m('^refund', 'a refund'), false)
  assert.equal(m('refund$', 'refund!'), false)
  assert.equal(m('^refund$', 'refund'), true)
  assert.equal(m('', 'x'), true)
  assert.equal(m('a.c', 'a\nc'), true)
  assert.equal(m('(?i)REFUND', 'Refund'), true)
  assert.equal(m('(?i)k', '\u212a'), true)
  assert.equal(m('(?i)[^k]', 'K'), false)
  assert.equal(m('(?i)\\W', 'ſ'), false)
  assert.equal(m('\\s', '\u00a0'), false)
  assert.equal(m('\\bcat\\b', 'a cat!'), true)
  assert.equal(m('\\bcat\\b', 'concat'), false)
  assert.equal(m('^.$', '😀'), true)
  assert.equal(m('^[😀-😂]$', '😁'), true)
  assert.equal(m('^\\p{Lu}\\p{Ll}+$', 'Émile'), true)
  assert.equal(m('(?:)*x', 'x'), true)
  assert.equal(m('(a|b)*c', 'ababab'), false)
  assert.equal(m('^(?:a|ab)(?:c|bcd)$', 'abcd'), true)
  assert.equal(m('x{3}', 'xx'), false)
  assert.equal(m('x{2,3}$', 'axxxx'), true)
})

test('regexes run in linear time (no catastrophic backtracking)', () => {
  const text = 'a'.repeat(100_000)
  const started = performance.now()
  assert.equal(m2('a.*b', text), false)
  assert.equal(m2('(a+)+$x', text), false)
  assert.equal(m2('(?:a|a)*b', text), false)
  assert.equal(m2('refund.*order.*cancel', 'refund order '.repeat(8000)), false)
  // V8's backtracking engine takes seconds on the first of these alone.
  assert.ok(performance.now() - started < 5_000, `took ${performance.now() - started} ms`)
})
const m2 = (p: string, t: string) => compileRegexMatcher(p)(t)

// Where V8's own semantics and the subset's coincide (no \s, no (?i), no \p), the NFA must
// answer as V8 does.
const ATOMS = [
  'a',
  'b',
  'c',
  '.',
  '\\d',
  '\\w',
  '\\W',
  '[a-c]',
  '[^a]',
  '[b\\d]',
  '\\b',
  '^',
  '$',
  'é',
  '😀',
  '(?:a|bc)',
  '(a|)',
  '\\n',
]
const QUANTIFIERS = ['', '', '*', '+', '?', '{2}', '{0,2}', '{1,}', '*?']
const piece = fc.tuple(fc.constantFrom(...ATOMS), fc.constantFrom(...QUANTIFIERS)).map(([a, q]) => a + q)
const { pattern } = fc.letrec<{ pattern: string }>((tie) => ({
  pattern: fc.oneof(
    { depthSize: 'small' },
    piece,
    fc.tuple(tie('pattern'), tie('pattern')).map(([x, y]) => x + y),
    fc.tuple(tie('pattern'), tie('pattern')).map(([x, y]) => `(?:${x}|${y})`),
    fc.tuple(tie('pattern'), fc.constantFrom(...QUANTIFIERS)).map(([x, q]) => `(?:${x})${q}`),
  ),
}))
const text = fc.string({
  unit: fc.constantFrom('a', 'b', 'c', '1', ' ', '\n', 'é', '😀', '_'),
  maxLength: 10,
})

test('the NFA answers as V8 does where their semantics coincide', () => {
  fc.assert(
    fc.property(
      pattern.filter((p) => parseRegex(p).ok),
      fc.array(text, { minLength: 1, maxLength: 10 }),
      (p, texts) => {
        const ours = compileRegexMatcher(p)
        const v8 = new RegExp(p, 'su')
        for (const t of texts) assert.equal(ours(t), v8.test(t), `${p} on ${JSON.stringify(t)}`)
      },
    ),
    { numRuns: Number(process.env.SPANSIFT_PROPERTY_RUNS ?? 1000) },
  )
})
