import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { testSpan } from '../datasets/test-span.ts'
import { predicateToSql } from './compile-sql.ts'
import { compileRule } from './rule-evaluator.ts'
import { parseRuleFile } from './rule-file.ts'
import type { Rule } from './rule-schema.ts'
import { createSampler, sampledSql } from './sampling.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a' // testSpan's application
const DATASET = '7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c'

/** A rule from YAML, as the loader builds it. */
function ruleFrom(body: string): Rule {
  const { rules, errors } = parseRuleFile(
    'r.yaml',
    `rules:
  - id: r
    application: ${APP}
    dataset: ${DATASET}
${body}`,
  )
  assert.deepEqual(errors, [])
  return rules[0]!
}

const MAPPING = `    mapping:
      inputs: { question: gen_ai.request.user_message }
      expected_outputs: { answer: gen_ai.completion.content }
      metadata: { model: gen_ai.request.model, tokens: gen_ai.usage.input_tokens }
`

const traceId = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 32)

describe('matches', () => {
  const rule = compileRule(ruleFrom(`    when: { field: gen_ai.request.model, equals: gpt-4o }\n${MAPPING}`))

  test("a span of the rule's application meeting `when`", () => {
    assert.equal(rule.matches(testSpan()), true)
  })

  test('another application, another model', () => {
    assert.equal(rule.matches(testSpan({ applicationId: '00000000-0000-4000-8000-000000000001' })), false)
    assert.equal(
      rule.matches(testSpan({ attributes: { ...testSpan().attributes, 'gen_ai.request.model': 'gpt-3.5' } })),
      false,
    )
  })

  test('error spans only with include_errors; unset and ok spans always', () => {
    assert.equal(rule.matches(testSpan({ statusCode: 2 })), false)
    assert.equal(rule.matches(testSpan({ statusCode: 0 })), true)
    const withErrors = compileRule(ruleFrom(`    include_errors: true\n${MAPPING}`))
    assert.equal(withErrors.matches(testSpan({ statusCode: 2 })), true)
  })

  test('no `when`: every span of the application', () => {
    const all = compileRule(ruleFrom(MAPPING))
    assert.equal(all.matches(testSpan({ attributes: {} })), true)
    assert.equal(all.matches(testSpan({ applicationId: '00000000-0000-4000-8000-000000000001' })), false)
  })

  test('sampling keeps whole traces, as the sampler decides for the trace id', () => {
    const sampled = compileRule(ruleFrom(`    sample: 0.5\n${MAPPING}`))
    const sampler = createSampler(0.5)
    let kept = 0
    for (let i = 1; i <= 200; i++) {
      const id = traceId(i)
      const decision = sampled.matches(testSpan({ traceId: id }))
      assert.equal(decision, sampler(id))
      assert.equal(sampled.matches(testSpan({ traceId: id, spanId: 'c7ad6b7169203331' })), decision)
      if (decision) kept++
    }
    assert.ok(kept > 0 && kept < 200, `kept ${kept} of 200`)
  })

  test('evaluate is toCandidate for a match, undefined otherwise', () => {
    assert.deepEqual(rule.evaluate(testSpan()), rule.toCandidate(testSpan()))
    assert.equal(rule.evaluate(testSpan({ statusCode: 2 })), undefined)
  })
})

describe('toCandidate', () => {
  test('maps, stamps the rule, carries the defaults; nothing redacted, no redactedFields', () => {
    const rule = compileRule(
      ruleFrom(
        `${MAPPING}    defaults: { priority: high, feedback_category: negative_feedback, labels: [thumbs-down] }\n`,
      ),
    )
    const span = testSpan()
    assert.deepEqual(rule.toCandidate(span), {
      applicationId: APP,
      traceId: span.traceId,
      spanId: span.spanId,
      spanStartUnixNano: span.startTimeUnixNano,
      sourceKind: 'rule',
      ruleId: 'r',
      row: {
        inputs: { question: 'Where is my order?' },
        expected_outputs: { answer: 'It ships tomorrow.' },
        metadata: { model: 'gpt-4o', tokens: 42 },
        extras: {},
      },
      inputsHash: rule.toCandidate(span).inputsHash,
      defaults: { priority: 'high', feedbackCategory: 'negative_feedback', labels: ['thumbs-down'] },
    })
  })

  test('redacts the mapped row and names the fields it changed; the hash is of the redacted inputs', () => {
    const rule = compileRule(
      ruleFrom(`${MAPPING}    redact:
      detectors: [email]
      patterns: [{ name: order-id, regex: 'ORD-[0-9]{6}' }]
`),
    )
    const span = testSpan({
      attributes: {
        ...testSpan().attributes,
        'gen_ai.request.user_message': 'I am ada@example.com, where is ORD-123456?',
      },
    })
    const candidate = rule.toCandidate(span)
    assert.deepEqual(candidate.row.inputs, {
      question: 'I am [REDACTED:email], where is [REDACTED:order-id]?',
    })
    assert.deepEqual(candidate.redactedFields, ['inputs.question'])
    const plain = compileRule(ruleFrom(MAPPING)).toCandidate(span)
    assert.notEqual(candidate.inputsHash, plain.inputsHash)
    assert.equal(plain.redactedFields, undefined)
  })
})

describe('condition', () => {
  test('the application, the status, the sampling and the predicate, in SQL with parameters', () => {
    const when = `    when: { field: gen_ai.request.model, equals: gpt-4o }\n`
    const rule = compileRule(ruleFrom(`${when}    sample: 0.25\n${MAPPING}`))
    const condition = rule.condition('r1')
    const predicate = predicateToSql(rule.rule.when!, 'r1')
    assert.equal(
      condition.sql,
      `application_id = {r1_application:UUID} AND status_code != 2 AND (${sampledSql(0.25)}) AND (${predicate.sql})`,
    )
    assert.deepEqual(condition.params, { r1_application: APP, ...predicate.params })
  })

  test('include_errors drops the status condition; no `when`, no sampling: just the application', () => {
    const rule = compileRule(ruleFrom(`    include_errors: true\n${MAPPING}`))
    assert.deepEqual(rule.condition(), {
      sql: 'application_id = {rule_application:UUID}',
      params: { rule_application: APP },
    })
  })
})
