import type { Principal } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type {
  BackfillJob,
  RulesService,
  RuleTestResult,
  RuleView,
} from '@spansift/core/rules/rules-service-port'
import { formatRfc3339Millis, formatRfc3339Nano } from '@spansift/core/time'
import { parseLookupRange } from '@spansift/core/time-range'
import type { Hono } from 'hono'
import { z } from 'zod'
import type { ApiEnv } from '../auth-middleware.ts'

/**
 * The longest range a rule test or backfill may cover. They read history month partition
 * by month partition, so the range bounds the work; a year covers any retention short of it.
 */
export const MAX_RULE_RANGE_DAYS = 366

export const ruleRangeBody = z.strictObject({
  start_time: z.string({ message: 'start_time is required (RFC 3339)' }),
  end_time: z.string({ message: 'end_time is required (RFC 3339)' }),
})
export const ruleTestBody = ruleRangeBody.extend({
  limit: z.number().int().min(0).max(50).optional(),
})
const rfc3339 = z.string().meta({ format: 'date-time' })
const bucket = z.record(z.string(), z.unknown())

const ruleSchema = z.object({
  id: z.string(),
  description: z.string(),
  application_id: z.string().nullable().meta({ description: 'null while the rule’s names do not resolve' }),
  dataset_id: z.string().nullable(),
  application: z.string().meta({ description: 'As the rule file names it (a name or an id).' }),
  dataset: z.string(),
  enabled: z.boolean(),
  state: z.enum(['active', 'disabled', 'error']),
  error: z.string().nullable(),
  file: z.string(),
  line: z.number().int(),
  sample: z.number(),
  include_errors: z.boolean(),
  matched: z.number().int(),
  appended: z.number().int(),
  dropped_for_cap: z.number().int(),
  stored_rows: z.number().int(),
  warnings: z.array(z.string()),
})

export const rulesListResponse = z.object({
  rules: z.array(ruleSchema),
  reload: z.object({
    dir: z.string().optional().meta({ description: 'Admin key only.' }),
    ok: z.boolean(),
    errors: z.array(z.string()).optional().meta({ description: 'Admin key only.' }),
    files: z.array(z.string()).optional().meta({ description: 'Admin key only.' }),
    loaded_at: z.string().nullable(),
    last_attempt_at: z.string().nullable(),
  }),
})

export const ruleTestResponse = z.object({
  rule_id: z.string(),
  matched: z.number().int(),
  partitions: z.number().int(),
  samples: z.array(
    z.object({
      trace_id: z.string(),
      span_id: z.string(),
      inputs: bucket,
      expected_outputs: bucket,
      metadata: bucket,
      extras: bucket,
      redacted_fields: z.array(z.string()),
    }),
  ),
})

export const backfillResponse = z.object({
  backfill_id: z.string(),
  rule_id: z.string(),
  dataset_id: z.string(),
  state: z.enum(['running', 'done', 'failed']),
  start_time: rfc3339,
  end_time: rfc3339,
  started_at: z.string(),
  finished_at: z.string().nullable(),
  partitions_total: z.number().int(),
  partitions_done: z.number().int(),
  current_partition: z.number().int().nullable(),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  scanned: z.number().int(),
  matched: z.number().int(),
  added: z.number().int(),
  already_present: z.number().int(),
  dropped_for_cap: z.number().int(),
  dataset_full: z.boolean(),
  error: z.string().nullable(),
})

/** A backfill id as a path holds it (the document publishes the pattern). */
export const BACKFILL_ID_PATTERN = '^[A-Za-z0-9_-]{1,128}$'
const backfillIdParam = z.string().regex(new RegExp(BACKFILL_ID_PATTERN), { message: 'not a backfill id' })

function ruleToJson(rule: RuleView) {
  return {
    id: rule.id,
    description: rule.description,
    application_id: rule.applicationId || null,
    dataset_id: rule.datasetId || null,
    application: rule.target.application,
    dataset: rule.target.dataset,
    enabled: rule.enabled,
    state: rule.state,
    error: rule.error,
    file: rule.file,
    line: rule.line,
    sample: rule.sample,
    include_errors: rule.includeErrors,
    matched: rule.matched,
    appended: rule.appended,
    dropped_for_cap: rule.droppedForCap,
    stored_rows: rule.storedRows,
    warnings: rule.warnings,
  }
}

function testToJson(result: RuleTestResult) {
  return {
    rule_id: result.ruleId,
    matched: result.matched,
    partitions: result.partitions,
    samples: result.samples.map((s) => ({
      trace_id: s.traceId,
      span_id: s.spanId,
      ...s.row,
      redacted_fields: s.redactedFields,
    })),
  }
}

export function backfillToJson(job: BackfillJob) {
  return {
    backfill_id: job.backfillId,
    rule_id: job.ruleId,
    dataset_id: job.datasetId,
    state: job.state,
    start_time: formatRfc3339Nano(job.fromUnixNano),
    end_time: formatRfc3339Nano(job.toUnixNano),
    started_at: formatRfc3339Millis(job.startedAt),
    finished_at: formatRfc3339Millis(job.finishedAt),
    partitions_total: job.partitionsTotal,
    partitions_done: job.partitionsDone,
    current_partition: job.currentPartition,
    progress: { done: job.progressDone, total: job.progressTotal },
    scanned: job.scanned,
    matched: job.matched,
    added: job.added,
    already_present: job.alreadyPresent,
    dropped_for_cap: job.droppedForCap,
    dataset_full: job.datasetFull,
    error: job.error,
  }
}

/**
 * The rules routes under /v1. The admin key sees every rule and the reload errors; an
 * application key sees its application's rules, and another application's rule answers
 * like a missing one (404).
 */
export function registerRuleRoutes(v1: Hono<ApiEnv>, rules: RulesService): void {
  const requireRule = (principal: Principal, ruleId: string): void => {
    const applicationId = rules.applicationOf(ruleId)
    if (
      applicationId === undefined ||
      (principal.kind === 'application' && principal.applicationId !== applicationId)
    ) {
      throw new SpansiftError(ErrorCode.notFound, `no rule ${ruleId}`)
    }
  }

  v1.get('/rules', async (c) => {
    const principal = c.get('principal')
    const listing = await rules.listing()
    const visible =
      principal.kind === 'admin'
        ? listing.rules
        : listing.rules.filter((r) => r.applicationId === principal.applicationId)
    const reload = listing.reload
    return c.json({
      rules: visible.map(ruleToJson),
      reload:
        principal.kind === 'admin'
          ? {
              dir: reload.dir,
              ok: reload.ok,
              errors: reload.errors,
              files: reload.files,
              loaded_at: formatRfc3339Millis(reload.loadedAt),
              last_attempt_at: formatRfc3339Millis(reload.lastAttemptAt),
            }
          : {
              ok: reload.ok,
              loaded_at: formatRfc3339Millis(reload.loadedAt),
              last_attempt_at: formatRfc3339Millis(reload.lastAttemptAt),
            },
    })
  })

  v1.post('/rules/:rule_id/test', async (c) => {
    const ruleId = c.req.param('rule_id')
    requireRule(c.get('principal'), ruleId)
    const body = ruleTestBody.parse(await c.req.json())
    const range = parseLookupRange(body.start_time, body.end_time, MAX_RULE_RANGE_DAYS)
    return c.json(testToJson(await rules.test(ruleId, range, body.limit ?? 5)))
  })

  v1.post('/rules/:rule_id/backfill', async (c) => {
    const ruleId = c.req.param('rule_id')
    requireRule(c.get('principal'), ruleId)
    const body = ruleRangeBody.parse(await c.req.json())
    const range = parseLookupRange(body.start_time, body.end_time, MAX_RULE_RANGE_DAYS)
    const job = await rules.startBackfill(ruleId, range)
    return c.json(backfillToJson(job), 202, { Location: `/v1/rules/backfills/${job.backfillId}` })
  })

  v1.get('/rules/backfills/:backfill_id', async (c) => {
    const parsed = backfillIdParam.safeParse(c.req.param('backfill_id'))
    const job = parsed.success ? rules.backfill(parsed.data) : undefined
    const principal = c.get('principal')
    if (!job || (principal.kind === 'application' && job.applicationId !== principal.applicationId)) {
      throw new SpansiftError(ErrorCode.notFound, `no backfill ${c.req.param('backfill_id')}`)
    }
    return c.json(backfillToJson(job))
  })
}
