import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Predicate } from './predicate.ts'
import { checkPredicate, MAX_PREDICATE_DEPTH, parseRegex } from './predicate-check.ts'

const issue = (p: Predicate) => {
  const issues = checkPredicate(p)
  assert.equal(issues.length, 1, `expected one issue for ${JSON.stringify(p)}, got ${JSON.stringify(issues)}`)
  return issues[0]!
}

test('well-typed predicates pass', () => {
  const ok: Predicate[] = [
    { field: 'span.name', starts_with: 'chat' },
    { field: 'span.kind', in: ['client', 'server'] },
    { field: 'span.status', not_equals: 'error' },
    { field: 'span.duration_ms', gte: 1500.5 },
    { field: 'gen_ai.usage.input_tokens', gt: 1000 },
    { field: 'gen_ai.request.model', equals: 'gpt-4o' },
    { field: 'input', contains: 'refund' },
    { field: 'attributes.gen_ai.usage.output_tokens', lt: 10 },
    { field: 'resource.deployment.environment', equals: 'prod' },
    { field: 'llm.is_streaming', equals: true },
    { field: 'gen_ai.response.finish_reasons', exists: true },
    { field: 'custom.anything', equals: 5 },
    { field: 'custom.anything', matches: '^a.*b$' },
    { event: { name: 'exception', where: { field: 'exception.type', ends_with: 'Timeout' } } },
    { field: 'span.duration_ms', gt: 1e300 },
  ]
  for (const p of ok) assert.deepEqual(checkPredicate(p), [], JSON.stringify(p))
})

test('comparing a known field with a value of the wrong type is refused, at the operator', () => {
  assert.deepEqual(
    issue({
      all: [
        { field: 'span.name', exists: true },
        { field: 'span.name', gt: 5 },
      ],
    }),
    {
      path: ['all', 1, 'gt'],
      message: 'span.name is a string: gt compares numbers',
    },
  )
  assert.deepEqual(issue({ field: 'gen_ai.request.model', equals: 5 }), {
    path: ['equals'],
    message:
      'gen_ai.request.model is a string: compare it with a string, not a number (write "5" in quotes to compare the text)',
  })
  assert.deepEqual(issue({ field: 'input', in: [true] }).path, ['in'])
  assert.deepEqual(issue({ field: 'span.duration_ms', contains: '5' }), {
    path: ['contains'],
    message: 'span.duration_ms is a number: contains applies to strings',
  })
  assert.equal(
    issue({ field: 'gen_ai.usage.input_tokens', matches: '\\d+' }).message,
    'gen_ai.usage.input_tokens is a number: matches applies to strings',
  )
  assert.equal(
    issue({ field: 'gen_ai.usage.input_tokens', equals: '42' }).message,
    'gen_ai.usage.input_tokens is a number: compare it with a number, not a string',
  )
  assert.equal(
    issue({ field: 'http.response.status_code', not_in: ['500'] }).message,
    'http.response.status_code is a number: compare it with a number, not a string',
  )
  assert.equal(
    issue({ field: 'llm.is_streaming', equals: 'true' }).message,
    'llm.is_streaming is a boolean: compare it with true or false (without quotes), not a string',
  )
  assert.equal(
    issue({ field: 'gen_ai.response.finish_reasons', contains: 'stop' }).message,
    'gen_ai.response.finish_reasons is a list: only exists and missing apply to it',
  )
  assert.equal(
    issue({ field: 'gen_ai.prompt.3.content', gt: 1 }).message,
    'gen_ai.prompt.3.content is a string: gt compares numbers',
  )
})

test('enum values must exist', () => {
  assert.deepEqual(issue({ field: 'span.kind', equals: 'clientt' }), {
    path: ['equals'],
    message:
      'span.kind has no value "clientt" (did you mean "client"?): it is one of unspecified, internal, server, client, producer, consumer',
  })
  assert.equal(
    issue({ field: 'span.status', equals: 'failed' }).message,
    'span.status has no value "failed": it is one of unset, ok, error',
  )
  assert.equal(
    issue({ field: 'span.status', in: ['ok', 'ERROR'] }).message,
    'span.status has no value "ERROR" (did you mean "error"?): it is one of unset, ok, error',
  )
  assert.match(
    issue({ field: 'span.kind', contains: 'cli' }).message,
    /compare it with equals, not_equals, in or not_in/,
  )
  assert.match(issue({ field: 'span.kind', equals: 3 }).message, /has no value 3/)
})

test('lists are of one type; numbers beyond 2^53 are not compared for equality', () => {
  assert.deepEqual(issue({ field: 'x', in: ['a', 1] }), {
    path: ['in'],
    message: 'in mixes string and number values: list values of one type',
  })
  assert.deepEqual(issue({ field: 'x', in: [] }), { path: ['in'], message: 'in needs at least one value' })
  assert.match(issue({ field: 'x', equals: 2 ** 60 }).message, /beyond ±2\^53/)
  assert.deepEqual(checkPredicate({ field: 'x', gt: 2 ** 60 }), [])
})

test('fields: unknown built-ins, refused built-ins and malformed paths', () => {
  assert.deepEqual(issue({ not: { field: 'span.nme', equals: 'x' } }), {
    path: ['not', 'field'],
    message:
      'unknown built-in field "span.nme": the span fields are span.name, span.kind, span.status, span.status_message, span.duration_ms, span.id, span.parent_id (an attribute named span.nme is attributes.span.nme)',
  })
  assert.match(issue({ field: 'span.duration_ns', gt: 5 }).message, /write span.duration_ms/)
  assert.match(issue({ field: 'span.start_time', exists: true }).message, /not a predicate field/)
  assert.match(issue({ field: 'a..b', exists: true }).message, /empty segment/)
  assert.match(issue({ field: 'attributes.', exists: true }).message, /empty segment/)
  assert.deepEqual(checkPredicate({ field: 'attributes.span.nme', equals: 'x' }), [])
})

test('events: where names event attributes, and events do not nest', () => {
  assert.deepEqual(issue({ event: { name: 'x', where: { field: 'span.name', equals: 'a' } } }).path, [
    'event',
    'where',
    'field',
  ])
  assert.deepEqual(issue({ event: { name: 'x', where: { event: { name: 'y' } } } }), {
    path: ['event', 'where', 'event'],
    message: 'an event has no events: event cannot nest inside event.where',
  })
  assert.equal(
    issue({ event: { name: 'exception', where: { field: 'exception.escaped', equals: 'yes' } } }).message,
    'exception.escaped is a boolean: compare it with true or false (without quotes), not a string',
  )
})

test('size limits and unstorable strings', () => {
  let deep: Predicate = { field: 'a', exists: true }
  for (let i = 0; i <= MAX_PREDICATE_DEPTH; i++) deep = { not: deep }
  assert.match(checkPredicate(deep)[0]!.message, /nest deeper than 32/)
  assert.match(issue({ field: 'a', equals: 'x\ud800' }).message, /unpaired UTF-16 surrogate/)
})

test('the regex subset: what is accepted', () => {
  const accepted = [
    '',
    'refund',
    '^chat .*gpt-4o$',
    '(?i)refund|chargeback',
    '\\d{3}-\\d{4}',
    '[A-Za-z_][\\w.-]*',
    '[^\\s"]+',
    '\\bword\\b',
    '\\p{Lu}\\p{Ll}+',
    '[\\p{L}\\p{N}]',
    '\\P{L}',
    '(?:a|b)*?c',
    '(a)(b)',
    '\\x41\\u00e9\\u{1F600}',
    '\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/\\-\\#',
    '[\\]\\[\\-]',
    '[a-]',
    '[-a]',
    'a{2}b{2,}c{2,5}',
    '(?:a{10}){100}',
    '(?i)\\w+\\b',
    '😀+',
  ]
  for (const p of accepted) {
    const parsed = parseRegex(p)
    assert.ok(parsed.ok, `${p}: ${parsed.ok ? '' : parsed.message}`)
  }
})

test('the regex subset: what is refused, and why', () => {
  const refused: Array<[string, RegExp]> = [
    ['(?=a)', /lookahead/],
    ['(?!a)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['(a)\\1', /backreferences/],
    ['(?<n>a)\\k<n>', /named groups/],
    ['\\k<n>', /backreferences/],
    ['(?P<n>a)', /named groups/],
    ['a(?i)b', /inline flags/],
    ['(?s).', /inline flags/],
    ['(?m)^a', /inline flags/],
    ['(?i:a)', /inline flags/],
    ['a++', /possessive|nothing to repeat/],
    ['a**', /nothing to repeat/],
    ['^*', /anchor or word boundary cannot be quantified/],
    ['*a', /nothing to repeat/],
    ['[[:alpha:]]', /POSIX/],
    ['[]', /empty class/],
    ['[^]', /write \. for any character/],
    ['\\Bx', /\\B is not supported/],
    ['\\Aa', /use \^ and \$/],
    ['a\\z', /use \^ and \$/],
    ['\\Qa\\E', /not a supported escape/],
    ['\\0', /write \\x00/],
    ['\\cA', /not a supported escape/],
    ['\\e', /not a supported escape/],
    ['\\p{Greek}', /general category/],
    ['\\p{Script=Greek}', /general category/],
    ['\\pL', /in braces/],
    ['\\p{Cn}', /general category/],
    ['a{1001}', /above 1000/],
    ['(?:a{100}){11}', /expands to 1100 atoms/],
    ['(?:(?:){100}){11}', /multiply to more than 1000/],
    ['(?:[ab]{100}){10}x{1}', /expands to|multiply/],
    ['a{,2}', /literal \{ must be escaped/],
    ['a{2,1}', /minimum is above the maximum/],
    ['}', /must be escaped/],
    [']', /must be escaped/],
    ['(a', /unterminated group/],
    ['a)', /unmatched \)/],
    ['[a', /unterminated class/],
    ['[z-a]', /out of order/],
    ['[\\d-z]', /class escape cannot start a range/],
    ['\\', /lone backslash/],
    ['\\ud83d', /surrogate escapes/],
    ['\\u{110000}', /beyond U\+10FFFF/],
    ['a'.repeat(1001), /longer than 1000/],
  ]
  for (const [p, expected] of refused) {
    const parsed = parseRegex(p)
    assert.equal(parsed.ok, false, `${p} should be refused`)
    assert.match(parsed.ok ? '' : parsed.message, expected, p)
  }
  const inPredicate = issue({ field: 'input', matches: '(?=x)' })
  assert.deepEqual(inPredicate.path, ['matches'])
  assert.equal(inPredicate.message, 'matches: lookahead (?=…) / (?!…) is not supported (at character 1)')
})

test('RE2 gets a normalized pattern: literals escaped, classes as explicit ranges, no inline case flag', () => {
  const re2 = (p: string) => {
    const parsed = parseRegex(p)
    assert.ok(parsed.ok)
    return parsed.program.re2
  }
  assert.equal(re2('a.b'), '(?s)a.b')
  assert.equal(re2('a\\.b|c'), '(?s)a\\x{2E}b|c')
  assert.equal(re2('\\d+'), '(?s)[0-9]+')
  assert.equal(re2('\\s'), '(?s)[\\x{9}-\\x{A}\\x{C}-\\x{D} ]')
  assert.equal(re2('(?i)k'), '(?s)[Kk\\x{212A}]')
  assert.equal(re2('(?i)ß'), '(?s)[\\x{DF}\\x{1E9E}]')
  assert.equal(re2('[^a]'), '(?s)[\\x{0}-\\x{60}b-\\x{D7FF}\\x{E000}-\\x{10FFFF}]')
  assert.equal(re2('(?:ab)+c?'), '(?s)(?:ab)+c?')
  assert.equal(re2('x(?:a|b){2,3}'), '(?s)x(?:a|b){2,3}')
  assert.equal(re2('^$'), '(?s)^$')
})
