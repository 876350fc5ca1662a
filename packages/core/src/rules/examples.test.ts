import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { testSpan } from '../datasets/test-span.ts'
import type { Span } from '../span-model.ts'
import { compileRule } from './rule-evaluator.ts'
import { formatRuleFileError } from './rule-file.ts'
import type { Rule } from './rule-schema.ts'
import { buildRuleSet } from './rule-set.ts'
import { createSampler } from './sampling.ts'

// The example rules shipped in rules/examples: valid, and doing what they say.
const EXAMPLES = join(import.meta.dirname, '..', '..', '..', '..', 'rules', 'examples')
const names = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const files = names.map((name) => ({ file: name, text: readFileSync(join(EXAMPLES, name), 'utf8') }))
const PLACEHOLDER_APP = '00000000-0000-4000-8000-0000000000a1'

describe('example rule files', () => {
  test('there are examples, and together they are a valid rule set', () => {
    assert.ok(names.length >= 4)
    const { errors } = buildRuleSet(files)
    assert.deepEqual(errors.map(formatRuleFileError), [])
  })

  for (const { file, text } of files) {
    test(`${file} points editors at the JSON Schema and uses placeholder ids`, () => {
      assert.ok(text.startsWith('# yaml-language-server: $schema=../spansift-rules.schema.json\n'))
      for (const rule of buildRuleSet([{ file, text }]).rules) {
        assert.match(rule.applicationId, /^00000000-0000-4000-8000-/)
        assert.match(rule.datasetId, /^00000000-0000-4000-8000-/)
      }
    })
  }
})

const rules = new Map<string, Rule>(buildRuleSet(files).rules.map((r) => [r.id, r]))
const example = (id: string) => {
  const rule = rules.get(id)
  assert.ok(rule, `example rule ${id}`)
  return compileRule(rule)
}

/** A span of the placeholder application; `attributes` are added to testSpan's. */
function span(overrides: Partial<Span> = {}, attributes: Span['attributes'] = {}): Span {
  const base = testSpan({ applicationId: PLACEHOLDER_APP })
  return { ...base, ...overrides, attributes: { ...base.attributes, ...attributes } }
}

/** A trace id the rule's sampling keeps (or drops). */
function traceIdSampled(rate: number, kept: boolean): string {
  const sampler = createSampler(rate)
  for (let i = 0; ; i++) {
    const id = createHash('sha256').update(`trace ${i}`).digest('hex').slice(0, 32)
    if (sampler(id) === kept) return id
  }
}

describe('the examples match what they describe', () => {
  test('thumbs-down-answers: a feedback event or a low score', () => {
    const rule = example('thumbs-down-answers')
    const feedback = (rating: string) => [{ timeUnixNano: 1n, name: 'user.feedback', attributes: { rating } }]
    assert.equal(rule.matches(span({ events: feedback('thumbs_down') })), true)
    assert.equal(rule.matches(span({}, { 'user.feedback.score': 1 })), true)
    assert.equal(rule.matches(span({ events: feedback('thumbs_up') })), false)
    assert.equal(rule.matches(span({}, { 'user.feedback.score': 5 })), false)
    assert.equal(rule.matches(span()), false)
    const candidate = rule.toCandidate(span({}, { 'gen_ai.prompt': 'Reach me at ada@example.com' }))
    assert.deepEqual(candidate.defaults, {
      priority: 'high',
      feedbackCategory: 'negative_feedback',
      labels: ['thumbs-down'],
    })
  })

  test('slow-llm-calls: chat spans over 20 s, sampled by trace', () => {
    const rule = example('slow-llm-calls')
    const slow = {
      durationNano: 25_000_000_000n,
      endTimeUnixNano: testSpan().startTimeUnixNano + 25_000_000_000n,
    }
    const chat = { 'gen_ai.operation.name': 'chat' }
    assert.equal(rule.matches(span({ ...slow, traceId: traceIdSampled(0.1, true) }, chat)), true)
    assert.equal(rule.matches(span({ ...slow, traceId: traceIdSampled(0.1, false) }, chat)), false)
    assert.equal(rule.matches(span({ traceId: traceIdSampled(0.1, true) }, chat)), false, 'a 1 s call')
    assert.equal(
      rule.matches(
        span({ ...slow, traceId: traceIdSampled(0.1, true) }, { 'gen_ai.operation.name': 'embeddings' }),
      ),
      false,
    )
  })

  test('gpt-4o-answers: gpt-4o answers users did not dislike', () => {
    const rule = example('gpt-4o-answers')
    const traceId = traceIdSampled(0.05, true)
    assert.equal(rule.matches(span({ traceId })), true)
    assert.equal(rule.matches(span({ traceId }, { 'user.feedback.score': 1 })), false)
    assert.equal(rule.matches(span({ traceId }, { 'gen_ai.request.model': 'claude-sonnet-4' })), false)
  })

  test('tool-call-errors: error spans of tool executions qualify', () => {
    const rule = example('tool-call-errors')
    const tool = { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup_order' }
    assert.equal(rule.matches(span({ statusCode: 2, statusMessage: 'timeout' }, tool)), true)
    assert.equal(rule.matches(span({ statusCode: 1 }, tool)), false)
    const candidate = rule.toCandidate(
      span({ statusCode: 2, statusMessage: 'order ORD-1 not found for ada@example.com' }, tool),
    )
    assert.deepEqual(candidate.row.inputs, { tool: 'lookup_order' })
    assert.equal(candidate.row.metadata.error, 'order ORD-1 not found for [REDACTED:email]')
    assert.deepEqual(candidate.redactedFields, ['metadata.error'])
  })
})
