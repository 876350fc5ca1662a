import { randomUUID } from 'node:crypto'
import type { Application, ApplicationsRepository } from '@spansift/clickhouse/applications-repository'
import type { Principal } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { decodeListCursor, LIST_CURSOR_PATTERN, toPage } from '@spansift/core/list-cursor'
import { NameRaceLostError, retryNameRace } from '@spansift/core/name-race'
import { isUuidRef } from '@spansift/core/rules/rule-schema'
import { formatRfc3339Millis } from '@spansift/core/time'
import type { Hono } from 'hono'
import { z } from 'zod'
import { type ApiEnv, requireAdmin } from '../auth-middleware.ts'
import { nextCursorSchema, pageQuery, uuidSchema } from './dataset-schemas.ts'
import { nameSchema } from './name-schema.ts'

export const createApplicationBody = z.strictObject({
  name: nameSchema.meta({
    description: 'Unique: usable wherever an application id is (rule files, the CLI).',
  }),
})

export const listApplicationsQuery = z.strictObject({
  name: z.string().min(1).max(200).optional().meta({ description: 'Only the application of this name.' }),
  ...pageQuery(LIST_CURSOR_PATTERN),
})

export const applicationSchema = z.object({
  id: uuidSchema,
  name: z.string(),
  created_at: z.string(),
})

export const listApplicationsResponse = z.object({
  applications: z.array(applicationSchema),
  next_cursor: nextCursorSchema,
})

const toJson = (a: Application) => ({ id: a.id, name: a.name, created_at: formatRfc3339Millis(a.createdAt) })

/**
 * The application routes. Names are unique: a create naming a taken name is 409.
 * ClickHouse has no unique constraint, so a create inserts, then reads the name back:
 * if another row has it too (another API process created it at the same moment), this
 * create withdraws its row. Of two racing creates at least one sees the other (each
 * reads after its own insert is acknowledged), so two never both succeed; both may
 * withdraw, so a create that withdrew tries again after a jittered wait
 * (`retryNameRace`), and answers 409 only when it keeps losing. Creates in this process
 * are serialized, so they never race each other.
 */
export function registerApplicationRoutes(v1: Hono<ApiEnv>, applications: ApplicationsRepository): void {
  let creating: Promise<unknown> = Promise.resolve()

  const create = async (name: string): Promise<Application> => {
    const taken = await applications.getByName(name)
    if (taken) {
      throw new SpansiftError(ErrorCode.conflict, `an application named "${name}" exists: ${taken.id}`)
    }
    const id = randomUUID()
    await applications.create({ id, name })
    const named = await applications.listByName(name)
    if (named.some((a) => a.id !== id)) {
      await applications.remove(id)
      throw new NameRaceLostError(
        `another request created an application named "${name}" at the same moment; list the applications, or try again`,
      )
    }
    // Read back for the stored created_at (the table sets it).
    return named.find((a) => a.id === id) ?? { id, name, createdAt: new Date().toISOString() }
  }

  v1.post('/applications', async (c) => {
    requireAdmin(c.get('principal'))
    const { name } = createApplicationBody.parse(await c.req.json())
    // `creating` never rejects (a failed create is caught below), so one arm suffices.
    const run = creating.then(() => retryNameRace(() => create(name)))
    creating = run.catch(() => undefined)
    return c.json(toJson(await run), 201)
  })

  v1.get('/applications', async (c) => {
    requireAdmin(c.get('principal'))
    const query = listApplicationsQuery.parse(c.req.query())
    if (query.name !== undefined) {
      // Names are unique: one page, at most one application.
      const found = await applications.getByName(query.name)
      return c.json({ applications: found ? [toJson(found)] : [], next_cursor: null })
    }
    const after = query.cursor === undefined ? undefined : decodeListCursor(query.cursor)
    const read = await applications.listPage(after, query.limit + 1)
    const page = toPage(read, query.limit)
    return c.json({ applications: page.entries.map(toJson), next_cursor: page.nextCursor })
  })

  v1.get('/applications/:ref', async (c) => {
    const application = await findApplication(applications, c.get('principal'), c.req.param('ref'))
    return c.json(toJson(application))
  })
}

/**
 * The application a path names by id or by name. An application key sees only its own;
 * another application's looks like a missing one.
 */
export async function findApplication(
  applications: ApplicationsRepository,
  principal: Principal,
  ref: string,
): Promise<Application> {
  const application = isUuidRef(ref)
    ? await applications.get(ref.toLowerCase())
    : await applications.getByName(ref)
  if (!application || (principal.kind === 'application' && principal.applicationId !== application.id)) {
    throw new SpansiftError(ErrorCode.notFound, `no application ${isUuidRef(ref) ? ref : `"${ref}"`}`)
  }
  return application
}
