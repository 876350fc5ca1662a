import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { openTestStorage } from '@spansift/clickhouse/test-storage'
import { Hono } from 'hono'
import { errorResponse } from '../api-error.ts'
import type { ApiEnv } from '../auth-middleware.ts'
import { registerApplicationRoutes } from './applications-routes.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import { registerDatasetRoutes } from './datasets-routes.ts'

// Lists page by keyset over the real engine: every entry exactly once, in the order of
// the whole list, however the page size cuts it; a cursor that is not one is a 400.

let storage: Storage
let app: Hono<ApiEnv>
const applicationId = randomUUID()

before(async () => {
  storage = await openTestStorage('list-pagination')
  app = new Hono<ApiEnv>()
  app.onError((error, c) => errorResponse(error, c, () => {}))
  app.use('*', async (c, next) => {
    c.set('principal', { kind: 'admin' })
    await next()
  })
  registerApplicationRoutes(app, storage.applications)
  registerDatasetRoutes(app, { ...storage, spanRetentionDays: 30 } as unknown as DatasetRouteDependencies)
  for (let i = 0; i < 7; i++) await storage.applications.create({ id: randomUUID(), name: `paged-${i}` })
  // Five datasets, two of them created in the same millisecond (the id breaks the tie).
  const base = Date.now()
  for (let i = 0; i < 5; i++) {
    await storage.datasets.save(
      {
        id: randomUUID(),
        groupId: i + 1,
        applicationId,
        name: `paged-${i}`,
        kind: 'eval',
        excludeDatasetId: null,
        columns: [],
        feedbackCategories: [],
        createdAt: new Date(base + Math.min(i, 3)).toISOString(),
      },
      new Date().toISOString(),
    )
  }
})
after(async () => {
  await storage?.close()
})

async function get(path: string): Promise<{ status: number; body: any }> {
  const response = await app.request(path)
  return { status: response.status, body: await response.json() }
}

/** Every page of a list at `limit`, following next_cursor (at most 20 pages). */
async function pageThrough(path: string, field: string, limit: number) {
  const ids: string[] = []
  let cursor: string | null = null
  for (let page = 0; page < 20; page++) {
    const separator = path.includes('?') ? '&' : '?'
    const query: string = `${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const { status, body } = await get(`${path}${query}`)
    assert.equal(status, 200, JSON.stringify(body))
    assert.ok(body[field].length <= limit)
    ids.push(...body[field].map((entry: { id: string }) => entry.id))
    cursor = body.next_cursor
    if (cursor === null) return ids
    assert.equal(body[field].length, limit, 'only the last page is short')
  }
  throw new Error('more than 20 pages')
}

test('applications page by (created_at, id): every application once, in list order, at any page size', async () => {
  const all = (await storage.applications.list()).map((a) => a.id)
  assert.equal(all.length, 7)
  for (const limit of [1, 2, 3, 7, 100]) {
    assert.deepEqual(await pageThrough('/applications', 'applications', limit), all, `limit ${limit}`)
  }
})

test('datasets page the same way, ties on created_at broken by id', async () => {
  const all = (await storage.datasets.list(applicationId)).map((d) => d.id)
  assert.equal(all.length, 5)
  for (const limit of [1, 2, 4, 5]) {
    assert.deepEqual(
      await pageThrough(`/datasets?application_id=${applicationId}`, 'datasets', limit),
      all,
      `limit ${limit}`,
    )
  }
})

test('a cursor that is not one, or a page size out of range, is a 400', async () => {
  for (const query of ['cursor=nope', 'cursor=1_2', 'limit=0', 'limit=1001']) {
    const { status, body } = await get(`/applications?${query}`)
    assert.equal(status, 400, query)
    assert.equal(body.error.code, 'invalid_argument')
  }
})
