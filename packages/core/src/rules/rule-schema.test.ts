import assert from 'node:assert/strict'
import { test } from 'node:test'
import { nestsUnboundedQuantifiers, RULE_ID_PATTERN, regexProblem } from './rule-schema.ts'

test('rule ids: lowercase, digits, dot, underscore, dash; 1–64 characters', () => {
  for (const ok of ['a', '0', 'thumbs-down', 'slow.llm_calls-2', 'a'.repeat(64)]) {
    assert.ok(RULE_ID_PATTERN.test(ok), ok)
  }
  for (const bad of ['', '-a', '.a', 'A', 'thumbs down', 'a/b', 'a'.repeat(65), 'é']) {
    assert.ok(!RULE_ID_PATTERN.test(bad), bad)
  }
})

test('custom patterns: invalid, empty-matching and nested unbounded quantifiers are refused', () => {
  assert.equal(regexProblem('ORD-[0-9]{6}'), undefined)
  assert.equal(regexProblem('(?i:ord)-\\d{6}'), undefined)
  assert.equal(regexProblem('(?:[a-z]+\\.){1,10}com'), undefined)
  assert.match(regexProblem('ORD-[0-9')!, /^not a valid regular expression: /)
  assert.match(regexProblem('a{2,1}')!, /^not a valid regular expression: /)
  assert.match(regexProblem('\\p{Nope}')!, /^not a valid regular expression: /)
  assert.match(regexProblem('x?')!, /matches the empty string/)
  assert.match(regexProblem('(a+)+$')!, /nests unbounded quantifiers/)
})

test('nested unbounded quantifiers are found through groups, classes and escapes', () => {
  const nested = ['(a+)+', '(a*)*', '(?:\\w+\\s?)+', '((ab)+c)*', '(a+b){2,}', '(x(a+))+']
  const flat = [
    'a+b+',
    '(ab)+',
    '(a+){1,5}',
    '[(+)]+',
    '\\(a+\\)+',
    '(a{2,3})+',
    '(?:[a-z]+\\.){1,10}',
    '[)]+(a)+',
  ]
  for (const source of nested) assert.equal(nestsUnboundedQuantifiers(source), true, source)
  for (const source of flat) assert.equal(nestsUnboundedQuantifiers(source), false, source)
})
