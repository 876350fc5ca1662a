import type { Principal } from '@spansift/core/authenticator'
import { rowToChatExample } from '@spansift/core/datasets/chat-fine-tuning'
import { decodeItemCursor, encodeItemCursor } from '@spansift/core/datasets/cursor'
import { currentVersion, datasetToJson, itemToJson } from '@spansift/core/datasets/dataset-json'
import type { Dataset, DatasetVersion } from '@spansift/core/datasets/dataset-model'
import type { AnnotationPatch } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { decodeListCursor, toPage } from '@spansift/core/list-cursor'
import type { Hono } from 'hono'
import type { ApiEnv } from '../auth-middleware.ts'
import { applicationScope } from '../auth-middleware.ts'
import { loadDataset } from './dataset-access.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import {
  createDatasetBody,
  exportQuery,
  listDatasetsQuery,
  listItemsQuery,
  patchDatasetBody,
  patchItemBody,
  uuidSchema,
} from './dataset-schemas.ts'

const CONTENT_TYPES = {
  jsonl: 'application/x-ndjson',
  'chat-jsonl': 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
} as const
const EXTENSIONS = { jsonl: 'jsonl', 'chat-jsonl': 'chat.jsonl', csv: 'csv', parquet: 'parquet' } as const
const EXPORT_PAGE = 1000
/**
 * A row's id in a path is hex and dashes, so `/items/from-search` asked with PATCH or
 * DELETE is that route's 405, never a row named "from-search"; other such ids get a 400.
 */
const ITEM_ID = '{[0-9a-fA-F-]+}'

/** The version a read names (`version=N`), or the current one; 404 when there is none. */
function pickVersion(versions: readonly DatasetVersion[], number: number | undefined): DatasetVersion {
  const version = number === undefined ? currentVersion(versions) : versions.find((v) => v.number === number)
  if (!version)
    throw new SpansiftError(ErrorCode.notFound, `the dataset has no version ${number ?? ''}`.trim())
  return version
}

function itemIdParam(raw: string | undefined): string {
  const parsed = uuidSchema.safeParse(raw)
  if (!parsed.success)
    throw new SpansiftError(ErrorCode.invalidArgument, `item id must be a UUID, got "${raw}"`)
  return parsed.data
}

/** The native dataset routes under /v1: datasets, versions, the review queue, exports. */
export function registerDatasetRoutes(v1: Hono<ApiEnv>, deps: DatasetRouteDependencies): void {
  const describe = async (dataset: Dataset) => {
    const [versions, counts] = await Promise.all([
      deps.datasetVersions.list(dataset.id),
      deps.datasetItems.countByVersion(dataset.id),
    ])
    return datasetToJson(dataset, versions, counts)
  }
  const load = (principal: Principal, id: string | undefined) => loadDataset(deps.datasets, principal, id)

  v1.post('/datasets', async (c) => {
    const body = createDatasetBody.parse(await c.req.json())
    const applicationId = applicationScope(c.get('principal'), body.application_id)
    if (!(await deps.applications.get(applicationId))) {
      throw new SpansiftError(ErrorCode.notFound, `no application ${applicationId}`)
    }
    const dataset = await deps.datasetWriter.create({
      name: body.name,
      applicationId,
      kind: body.kind,
      excludeDatasetId: body.exclude_dataset_id ?? null,
      ...(body.feedback_categories ? { feedbackCategories: body.feedback_categories } : {}),
    })
    return c.json(await describe(dataset), 201)
  })

  v1.get('/datasets', async (c) => {
    const query = listDatasetsQuery.parse(c.req.query())
    const principal = c.get('principal')
    const applicationId =
      principal.kind === 'admin' ? query.application_id : applicationScope(principal, query.application_id)
    const after = query.cursor === undefined ? undefined : decodeListCursor(query.cursor)
    const read = await deps.datasets.listPage({ applicationId, name: query.name }, after, query.limit + 1)
    const page = toPage(read, query.limit)
    return c.json({ datasets: await Promise.all(page.entries.map(describe)), next_cursor: page.nextCursor })
  })

  v1.get('/datasets/:id', async (c) =>
    c.json(await describe(await load(c.get('principal'), c.req.param('id')))),
  )

  v1.patch('/datasets/:id', async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    const body = patchDatasetBody.parse(await c.req.json())
    return c.json(
      await describe(
        await deps.datasetWriter.patchDataset(dataset.id, { feedbackCategories: body.feedback_categories }),
      ),
    )
  })

  v1.delete('/datasets/:id', async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    await deps.datasetWriter.deleteDataset(dataset.id)
    return c.body(null, 204)
  })

  v1.post('/datasets/:id/publish', async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    await deps.datasetWriter.publish(dataset.id)
    return c.json(await describe(dataset))
  })

  v1.get('/datasets/:id/items', async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    const query = listItemsQuery.parse(c.req.query())
    const cursor = query.cursor === undefined ? undefined : decodeItemCursor(query.cursor)
    const versions = await deps.datasetVersions.list(dataset.id)
    // A cursor keeps paging the version it started on, even if a new draft appeared since.
    const version = cursor
      ? versions.find((v) => v.versionId === cursor.versionId)
      : versions.length === 0
        ? undefined
        : pickVersion(versions, query.version)
    if (!version) return c.json({ items: [], next_cursor: null })
    const page = await deps.datasetItems.list(
      dataset.id,
      version.versionId,
      {
        annotationStatus: query.annotation_status,
        feedbackCategory: query.feedback_category,
        priority: query.priority,
        ruleId: query.rule_id,
        createdFrom: query.created_from,
        createdTo: query.created_to,
      },
      cursor,
      query.limit + 1,
    )
    const items = page.slice(0, query.limit)
    const last = items.at(-1)
    const next =
      page.length > query.limit && last
        ? encodeItemCursor({ versionId: version.versionId, createdAt: last.createdAt, itemId: last.itemId })
        : null
    return c.json({ items: items.map(itemToJson), next_cursor: next })
  })

  v1.get(`/datasets/:id/items/:item_id${ITEM_ID}`, async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    const itemId = itemIdParam(c.req.param('item_id'))
    const version = currentVersion(await deps.datasetVersions.list(dataset.id))
    const item = version ? await deps.datasetItems.get(dataset.id, version.versionId, itemId) : undefined
    if (!item) throw new SpansiftError(ErrorCode.notFound, `no item ${itemId} in dataset ${dataset.id}`)
    return c.json(itemToJson(item))
  })

  v1.patch(`/datasets/:id/items/:item_id${ITEM_ID}`, async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    const itemId = itemIdParam(c.req.param('item_id'))
    const body = patchItemBody.parse(await c.req.json())
    const patch: AnnotationPatch = {
      annotation: body.annotation,
      annotationStatus: body.annotation_status,
      feedbackCategory: body.feedback_category,
      expectedOutput: body.expected_output,
      priority: body.priority,
      labels: body.labels,
    }
    const item = await deps.datasetWriter.patchItem(dataset.id, itemId, patch)
    return c.json(itemToJson(item))
  })

  v1.delete(`/datasets/:id/items/:item_id${ITEM_ID}`, async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    await deps.datasetWriter.deleteItem(dataset.id, itemIdParam(c.req.param('item_id')))
    return c.body(null, 204)
  })

  v1.get('/datasets/:id/export', async (c) => {
    const dataset = await load(c.get('principal'), c.req.param('id'))
    const query = exportQuery.parse(c.req.query())
    const version = pickVersion(await deps.datasetVersions.list(dataset.id), query.version)
    if (query.format === 'chat-jsonl' && dataset.kind !== 'training') {
      throw new SpansiftError(ErrorCode.invalidArgument, 'chat fine-tuning export is for training datasets')
    }
    let body: ReadableStream<Uint8Array>
    if (query.format === 'chat-jsonl') {
      const check = await checkChatConversion(deps, dataset.id, version.versionId)
      const named = check.unconvertible.map((u) => `${u.item_id}: ${u.reason}`).join('; ')
      if (check.converted === 0) {
        throw new SpansiftError(
          ErrorCode.exportEmpty,
          check.rows === 0
            ? `version ${version.number} has no rows`
            : `none of the ${check.rows} rows of version ${version.number} converts to a chat example (${named})`,
          { rows: check.rows, unconvertible: check.unconvertibleCount, items: check.unconvertible },
        )
      }
      if (query.strict && check.unconvertibleCount > 0) {
        throw new SpansiftError(
          ErrorCode.unconvertibleRows,
          `${check.unconvertibleCount} of ${check.rows} rows do not convert to chat examples: ${named}`,
          { rows: check.rows, unconvertible: check.unconvertibleCount, items: check.unconvertible },
        )
      }
      c.header('x-spansift-exported-rows', String(check.converted))
      c.header('x-spansift-unconvertible-rows', String(check.unconvertibleCount))
      if (check.unconvertible.length > 0)
        c.header('x-spansift-unconvertible-items', check.unconvertible.map((u) => u.item_id).join(','))
      body = chatJsonlStream(deps, dataset.id, version.versionId)
    } else {
      const rows = await deps.datasetItems.count(dataset.id, version.versionId)
      if (rows === 0) throw new SpansiftError(ErrorCode.exportEmpty, `version ${version.number} has no rows`)
      c.header('x-spansift-exported-rows', String(rows))
      body = await deps.datasetExporter.export(dataset.id, version.versionId, query.format)
    }
    c.header('content-type', CONTENT_TYPES[query.format])
    c.header(
      'content-disposition',
      `attachment; filename="dataset-${dataset.id}-v${version.number}.${EXTENSIONS[query.format]}"`,
    )
    return c.body(body)
  })
}

/** Unconvertible rows named in an export's answer (the count covers them all). */
const NAMED_UNCONVERTIBLE = 20

/**
 * The chat export's first pass: converts every row (a page at a time, nothing kept) to
 * count those that convert and name those that do not, so the answer's status and headers
 * say so before the body streams. It costs a second read of the version (not measured at
 * the 1,000,000-row training cap yet).
 */
async function checkChatConversion(deps: DatasetRouteDependencies, datasetId: string, versionId: number) {
  let after: { createdAt: string; itemId: string } | undefined
  let rows = 0
  let converted = 0
  let unconvertibleCount = 0
  const unconvertible: Array<{ item_id: string; reason: string }> = []
  for (;;) {
    const page = await deps.datasetItems.list(datasetId, versionId, {}, after, EXPORT_PAGE)
    for (const item of page) {
      rows++
      const conversion = rowToChatExample(item)
      if (conversion.ok) converted++
      else {
        unconvertibleCount++
        if (unconvertible.length < NAMED_UNCONVERTIBLE)
          unconvertible.push({ item_id: item.itemId, reason: conversion.reason })
      }
    }
    const last = page.at(-1)
    if (page.length < EXPORT_PAGE || !last) return { rows, converted, unconvertibleCount, unconvertible }
    after = { createdAt: last.createdAt, itemId: last.itemId }
  }
}

/**
 * Chat fine-tuning JSONL, streamed a page of rows at a time (the conversion is ours,
 * not ClickHouse's). Rows that do not convert are left out; checkChatConversion counted
 * and named them in the answer's headers (or refused a strict export).
 */
function chatJsonlStream(deps: DatasetRouteDependencies, datasetId: string, versionId: number) {
  const encoder = new TextEncoder()
  let after: { createdAt: string; itemId: string } | undefined
  let done = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return
      const page = await deps.datasetItems.list(datasetId, versionId, {}, after, EXPORT_PAGE)
      const lines = page
        .map((item) => rowToChatExample(item))
        .flatMap((conversion) => (conversion.ok ? [`${JSON.stringify(conversion.example)}\n`] : []))
        .join('')
      if (lines) controller.enqueue(encoder.encode(lines))
      const last = page.at(-1)
      if (page.length < EXPORT_PAGE || !last) {
        done = true
        controller.close()
      } else {
        after = { createdAt: last.createdAt, itemId: last.itemId }
      }
    },
  })
}
