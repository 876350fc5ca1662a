import { type AppendCandidate, candidateFromSpan } from '../datasets/append-candidate.ts'
import { applyMapping } from '../datasets/mapping.ts'
import { type Span, StatusCode } from '../span-model.ts'
import { compilePredicate } from './compile-js.ts'
import { predicateToSql, type SqlCondition } from './compile-sql.ts'
import { createRedactor } from './redaction.ts'
import type { Rule } from './rule-schema.ts'
import { createSampler, sampledSql } from './sampling.ts'

/** A rule made ready to run: its matcher, its row builder, and the same matcher as SQL. */
export interface CompiledRule {
  rule: Rule
  /** The span is the rule's application's, not an error (unless the rule takes those), sampled in, and meets `when`. */
  matches(span: Span): boolean
  /** The row the rule appends for a span: mapped, redacted, with the rule's defaults. */
  toCandidate(span: Span): AppendCandidate
  /** toCandidate of a matching span, else undefined. */
  evaluate(span: Span): AppendCandidate | undefined
  /**
   * `matches` as a condition over the `spans` table, for a backfill to pre-filter
   * with: the same application, status, sampling and predicate. Its parameters are
   * named `<paramPrefix>_…` so they can sit beside a query's own.
   */
  condition(paramPrefix?: string): SqlCondition
}

/** Compiles a rule once: predicate, sampler and redactor are built here, not per span. */
export function compileRule(rule: Rule): CompiledRule {
  const when = rule.when ? compilePredicate(rule.when) : undefined
  const sampled = rule.sample < 1 ? createSampler(rule.sample) : undefined
  const redact = createRedactor(rule.redaction)
  const source = { kind: 'rule', ruleId: rule.id } as const

  // Cheapest checks first: most spans are turned away by application or status.
  const matches = (span: Span): boolean =>
    span.applicationId === rule.applicationId &&
    (rule.includeErrors || span.statusCode !== StatusCode.error) &&
    (sampled === undefined || sampled(span.traceId)) &&
    (when === undefined || when(span))

  const toCandidate = (span: Span): AppendCandidate => {
    const { row, redactedFields } = redact(applyMapping(span, rule.mapping))
    return {
      ...candidateFromSpan(span, row, source),
      defaults: rule.defaults,
      ...(redactedFields.length > 0 ? { redactedFields } : {}),
    }
  }

  return {
    rule,
    matches,
    toCandidate,
    evaluate: (span) => (matches(span) ? toCandidate(span) : undefined),
    condition(paramPrefix = 'rule') {
      const parts = [`application_id = {${paramPrefix}_application:UUID}`]
      const params: Record<string, unknown> = { [`${paramPrefix}_application`]: rule.applicationId }
      if (!rule.includeErrors) parts.push(`status_code != ${StatusCode.error}`)
      if (rule.sample < 1) parts.push(`(${sampledSql(rule.sample)})`)
      if (rule.when) {
        const predicate = predicateToSql(rule.when, paramPrefix)
        for (const name of Object.keys(predicate.params)) {
          if (Object.hasOwn(params, name))
            throw new Error(`rule ${rule.id}: SQL parameter ${name} bound twice`)
        }
        Object.assign(params, predicate.params)
        parts.push(`(${predicate.sql})`)
      }
      return { sql: parts.join(' AND '), params }
    },
  }
}
