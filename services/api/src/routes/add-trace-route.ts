import { candidateFromSpan } from '@spansift/core/datasets/append-candidate'
import { buildTraceRow } from '@spansift/core/datasets/trace-row'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { NANOS_PER_DAY } from '@spansift/core/time'
import type { Hono } from 'hono'
import type { ApiEnv } from '../auth-middleware.ts'
import { canAccess } from './dataset-access.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import { addTraceBody, spanIdSchema, traceIdSchema } from './dataset-schemas.ts'

/**
 * `POST /api/public/v2/dataset-versions/add-trace`: one trace (anchored on its earliest
 * root span) or one span and its direct children, as a row of the group's draft version.
 * The request has no time range, so the trace lookup is bounded by the span retention
 * window (now − retention .. now + 1 day): nothing older is stored, and the bound still
 * prunes partitions.
 */
export function registerAddTraceRoute(v2: Hono<ApiEnv>, deps: DatasetRouteDependencies): void {
  v2.post('/dataset-versions/add-trace', async (c) => {
    const body = addTraceBody.parse(await c.req.json())
    const dataset = await deps.datasets.getByGroupId(body.dataset_group_id)
    if (!dataset || !canAccess(c.get('principal'), dataset)) {
      throw new SpansiftError(ErrorCode.notFound, `no dataset group ${body.dataset_group_id}`)
    }
    const traceId = traceIdSchema.parse(body.trace_id)
    const spanId = body.span_id == null ? undefined : spanIdSchema.parse(body.span_id)
    const nowNano = BigInt(Math.floor((deps.now ?? Date.now)())) * 1_000_000n
    const range = {
      fromUnixNano: nowNano - BigInt(deps.spanRetentionDays) * NANOS_PER_DAY,
      toUnixNano: nowNano + NANOS_PER_DAY,
    }
    const spans = await deps.spans.findTrace(dataset.applicationId, traceId, range)
    if (spans.length === 0) throw new SpansiftError(ErrorCode.notFound, `no stored spans of trace ${traceId}`)
    const { mode, anchor, row } = buildTraceRow(spans, spanId)
    const result = await deps.datasetWriter.append(
      dataset.id,
      [candidateFromSpan(anchor, row, { kind: 'add_trace' })],
      {
        ensureDraft: true,
      },
    )
    if (result.versionId === undefined)
      throw new SpansiftError(ErrorCode.internal, 'the append left no version')
    const warnings = [...result.warnings]
    if (!('input' in row.inputs))
      warnings.push(`the ${mode === 'trace' ? 'trace' : 'span'} holds no input messages`)
    if (!('output' in row.expected_outputs))
      warnings.push(`the ${mode === 'trace' ? 'trace' : 'span'} holds no output messages`)
    return c.json({ success: true, draft_dataset_id: result.versionId, mode, warnings })
  })
}
