import { candidateFromSpan } from '@spansift/core/datasets/append-candidate'
import {
  applyMapping,
  unresolvedMappingFields,
  unresolvedMappingWarning,
} from '@spansift/core/datasets/mapping'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { parseLookupRange } from '@spansift/core/time-range'
import type { Hono } from 'hono'
import { type ApiEnv, applicationScope } from '../auth-middleware.ts'
import { loadDataset } from './dataset-access.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import { fromSpansBody } from './dataset-schemas.ts'

/**
 * `POST /v3/evals/datasets/{dataset_id}/items/from-spans`: resolves up to 200 span refs
 * of the dataset's application inside [start_time, end_time) with one partition-bounded
 * query, maps them, and appends them through the dataset writer. Idempotent: item ids
 * derive from (dataset, trace, span). Beyond the hosted product's `data.items`, `data`
 * reports refs that matched nothing, candidates excluded by the leakage guard, and warnings.
 */
export function registerFromSpansRoute(v3: Hono<ApiEnv>, deps: DatasetRouteDependencies): void {
  v3.post('/evals/datasets/:dataset_id/items/from-spans', async (c) => {
    const principal = c.get('principal')
    const dataset = await loadDataset(deps.datasets, principal, c.req.param('dataset_id'))
    const body = fromSpansBody.parse(await c.req.json())
    const applicationId = applicationScope(principal, body.application_id)
    if (applicationId !== dataset.applicationId) {
      throw new SpansiftError(ErrorCode.invalidArgument, "application_id must be the dataset's application")
    }
    const range = parseLookupRange(body.start_time, body.end_time)
    const refs = [...new Map(body.spans.map((r) => [`${r.trace_id}:${r.span_id}`, r])).values()]
    const spans = await deps.spans.findByRefs(
      applicationId,
      refs.map((r) => ({ traceId: r.trace_id, spanId: r.span_id })),
      range,
    )
    const found = new Set(spans.map((s) => `${s.traceId}:${s.spanId}`))
    const notFound = refs.filter((r) => !found.has(`${r.trace_id}:${r.span_id}`))
    const rows = spans.map((span) => applyMapping(span, body.mapping))
    const candidates = spans.map((span, i) => candidateFromSpan(span, rows[i]!, { kind: 'api' }))
    const unresolved = unresolvedMappingWarning(
      body.mapping,
      unresolvedMappingFields(body.mapping, rows),
      rows.length,
    )
    const result =
      candidates.length === 0
        ? { items: [], excluded: [], warnings: [] }
        : await deps.datasetWriter.append(dataset.id, candidates)
    const warnings = [...result.warnings]
    if (unresolved) warnings.push(unresolved)
    if (notFound.length > 0) {
      warnings.push(
        `${notFound.length} of ${refs.length} span refs match no span of the application in the time range`,
      )
    }
    return c.json({
      api_version: '3.0',
      kind: 'NORMAL',
      data: {
        items: result.items.map((i) => ({ trace_id: i.traceId, span_id: i.spanId, item_id: i.itemId })),
        not_found: notFound.map((r) => ({ trace_id: r.trace_id, span_id: r.span_id })),
        excluded: result.excluded.length,
        excluded_spans: result.excluded.map((r) => ({ trace_id: r.traceId, span_id: r.spanId })),
        added: result.items.filter((i) => i.added).length,
        warnings,
      },
    })
  })
}
