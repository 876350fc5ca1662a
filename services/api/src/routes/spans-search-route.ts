import type { SearchCursor, SpanSearchRepository } from '@spansift/clickhouse/span-search-repository'
import type { DatasetMapping } from '@spansift/core/datasets/mapping'
import { applyMapping } from '@spansift/core/datasets/mapping'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { predicateToSql } from '@spansift/core/rules/compile-sql'
import { type Predicate, predicateSchema } from '@spansift/core/rules/predicate'
import { checkPredicate } from '@spansift/core/rules/predicate-check'
import type { RulesService } from '@spansift/core/rules/rules-service-port'
import { spanToJson } from '@spansift/core/span-json'
import { MAX_LOOKUP_RANGE_DAYS, parseLookupRange } from '@spansift/core/time-range'
import type { Hono } from 'hono'
import { z } from 'zod'
import { type ApiEnv, applicationScope } from '../auth-middleware.ts'
import { loadDataset } from './dataset-access.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import { mappingSchema, uuidSchema } from './dataset-schemas.ts'
import { backfillToJson } from './rules-routes.ts'

const rfc3339 = z.string().meta({ format: 'date-time' })

/**
 * `<start ns>_<trace id>_<span id>`: every string of this pattern is a position in the
 * sort order (up to 8999999999999999999 ns, inside Int64 and past 2255), so the document's pattern is the whole contract.
 * The order is not part of it: the same cursor with the other order pages the other way.
 */
export const SEARCH_CURSOR_PATTERN = '^([0-9]{1,18}|[1-8][0-9]{18})_[0-9a-f]{32}_[0-9a-f]{16}$'

const predicateField = z.record(z.string(), z.unknown()).meta({
  description:
    'A predicate in the rule language (the `when:` of a rule file, as JSON): {field, <operator>}, {all: [...]}, {any: [...]}, {not: ...}, {event: {name, where}}. Absent: every span.',
})

const rangeFields = {
  start_time: rfc3339.meta({ description: 'Start of the span start-time range (inclusive, UTC).' }),
  end_time: rfc3339.meta({
    description: `End of the range (exclusive, UTC); at most ${MAX_LOOKUP_RANGE_DAYS} days after start_time.`,
  }),
}

export const spanSearchBody = z.strictObject({
  application_id: uuidSchema
    .optional()
    .meta({ description: 'Required with the admin key; an application key searches its own.' }),
  ...rangeFields,
  predicate: predicateField.optional(),
  order: z.enum(['desc', 'asc']).default('desc').meta({ description: 'By span start time.' }),
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(new RegExp(SEARCH_CURSOR_PATTERN), { message: 'cursor is not a cursor this search returned' })
    .optional()
    .meta({ description: 'next_cursor of the previous page.' }),
  mapping: mappingSchema
    .optional()
    .meta({ description: 'Also answer `rows`: each span mapped exactly as from-spans would store it.' }),
})

const mappedRow = z.object({
  inputs: z.record(z.string(), z.unknown()),
  expected_outputs: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  extras: z.record(z.string(), z.unknown()),
})

export const spanSearchResponse = z.object({
  spans: z
    .array(z.record(z.string(), z.unknown()))
    .meta({ description: 'Spans as GET /v1/traces shows them.' }),
  rows: z
    .array(mappedRow)
    .optional()
    .meta({ description: 'With `mapping`: the row of each span, in order.' }),
  next_cursor: z.string().nullable(),
})

export const searchPromotionBody = z.strictObject({
  ...rangeFields,
  predicate: predicateField.optional(),
  mapping: mappingSchema,
})

/** A predicate from a request body: the rule language's schema, then its typing checks; refusals name the path. */
export function parsePredicate(raw: Record<string, unknown> | undefined): Predicate | undefined {
  if (raw === undefined) return undefined
  const parsed = predicateSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = ['predicate', ...(issue?.path ?? [])].join('.')
    throw new SpansiftError(ErrorCode.invalidArgument, `${path}: ${issue?.message ?? 'not a predicate'}`)
  }
  const issues = checkPredicate(parsed.data)
  if (issues.length > 0) {
    const first = issues[0]!
    throw new SpansiftError(
      ErrorCode.invalidArgument,
      `${['predicate', ...first.path].join('.')}: ${first.message}`,
    )
  }
  return parsed.data
}

function encodeCursor(cursor: SearchCursor): string {
  return `${cursor.startUnixNano}_${cursor.traceId}_${cursor.spanId}`
}

function decodeCursor(text: string): SearchCursor {
  const [ns, traceId, spanId] = text.split('_') as [string, string, string]
  return { startUnixNano: BigInt(ns), traceId, spanId }
}

/**
 * `POST /v1/spans/search`: an application's spans in a bounded time range that satisfy a
 * predicate of the rule language, compiled to SQL by compile-sql.ts as backfills do,
 * newest (or oldest) first, a page at a time. And `POST /v1/datasets/{id}/items/from-search`:
 * every span the same search finds, appended through the backfill engine (202, progress at
 * /v1/rules/backfills/{id}).
 */
export function registerSpanSearchRoutes(
  v1: Hono<ApiEnv>,
  deps: DatasetRouteDependencies & { spanSearch: SpanSearchRepository; rules: RulesService },
): void {
  v1.post('/spans/search', async (c) => {
    const body = spanSearchBody.parse(await c.req.json())
    const applicationId = applicationScope(c.get('principal'), body.application_id)
    const range = parseLookupRange(body.start_time, body.end_time)
    const predicate = parsePredicate(body.predicate)
    const condition = predicate ? predicateToSql(predicate, 'q') : { sql: '1', params: {} }
    const after = body.cursor === undefined ? undefined : decodeCursor(body.cursor)
    const page = await deps.spanSearch.page(
      { applicationId, ...condition },
      range,
      body.order,
      after,
      body.limit + 1,
    )
    const spans = page.slice(0, body.limit)
    const last = spans.at(-1)
    const next =
      page.length > body.limit && last
        ? encodeCursor({ startUnixNano: last.startTimeUnixNano, traceId: last.traceId, spanId: last.spanId })
        : null
    const mapping = body.mapping as DatasetMapping | undefined
    return c.json({
      spans: spans.map(spanToJson),
      ...(mapping ? { rows: spans.map((span) => applyMapping(span, mapping)) } : {}),
      next_cursor: next,
    })
  })

  v1.post('/datasets/:id/items/from-search', async (c) => {
    const dataset = await loadDataset(deps.datasets, c.get('principal'), c.req.param('id'))
    const body = searchPromotionBody.parse(await c.req.json())
    const range = parseLookupRange(body.start_time, body.end_time)
    const job = await deps.rules.startSearchPromotion({
      applicationId: dataset.applicationId,
      datasetId: dataset.id,
      predicate: parsePredicate(body.predicate),
      mapping: body.mapping,
      range,
    })
    return c.json(backfillToJson(job), 202, { Location: `/v1/rules/backfills/${job.backfillId}` })
  })
}
