import { randomUUID } from 'node:crypto'
import type { ApiKeyRecord, ApiKeysRepository } from '@spansift/clickhouse/api-keys-repository'
import type { ApplicationsRepository } from '@spansift/clickhouse/applications-repository'
import { API_KEY_PREFIX, generateApiKey, hashApiKey } from '@spansift/core/api-key'
import type { Principal } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { DEFAULT_KEY_SCOPE, KEY_SCOPES, type KeyScope } from '@spansift/core/key-scope'
import { decodeListCursor, encodeListCursor, LIST_CURSOR_PATTERN } from '@spansift/core/list-cursor'
import { isUuidRef } from '@spansift/core/rules/rule-schema'
import type { Context, Hono } from 'hono'
import { z } from 'zod'
import { type ApiEnv, requireKeyManager } from '../auth-middleware.ts'
import { findApplication } from './applications-routes.ts'
import { nextCursorSchema, pageQuery } from './dataset-schemas.ts'

/** Characters of the key kept as its prefix (`ssk_` and 6 more): enough to tell keys apart in a list. */
const PREFIX_LENGTH = API_KEY_PREFIX.length + 6
/** The longest grace period of a rotation: a week. */
const MAX_GRACE_SECONDS = 7 * 24 * 3600

const scopeSchema = z.enum(KEY_SCOPES).meta({
  description:
    'ingest: OTLP export only. read-write: OTLP and the API for its application. admin: read-write and managing its application’s keys.',
})
const expiresAtSchema = z.iso
  .datetime({ offset: true })
  .meta({ description: 'When the key stops working (RFC 3339); in the future.' })

export const createKeyBody = z.strictObject({
  scope: scopeSchema.optional(),
  expires_at: expiresAtSchema.optional(),
})

export const rotateKeyBody = z.strictObject({
  grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_GRACE_SECONDS)
    .optional()
    .meta({ description: 'How long the old key keeps working (0 by default: revoked at once).' }),
  expires_at: expiresAtSchema.optional(),
})

export const listKeysQuery = z.strictObject({
  ...pageQuery(LIST_CURSOR_PATTERN),
})

export const keySchema = z.object({
  id: z.uuid(),
  application_id: z.uuid(),
  prefix: z.string().meta({ description: 'The first characters of the key (never the key).' }),
  scope: z.enum(KEY_SCOPES),
  status: z.enum(['active', 'revoked', 'expired']),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable().meta({ description: 'In the future during a rotation’s grace period.' }),
  last_used_at: z
    .string()
    .nullable()
    .meta({ description: 'The last request it authenticated; recorded every few seconds, not per request.' }),
})

export const createdKeySchema = keySchema.extend({
  key: z.string().meta({ description: 'The key itself: shown once, only its hash is stored.' }),
})

export const keyPageSchema = z.object({ keys: z.array(keySchema), next_cursor: nextCursorSchema })
export const rotatedKeySchema = z.object({ key: createdKeySchema, previous: keySchema })

function keyToJson(key: ApiKeyRecord, now = Date.now()) {
  const revoked = key.revokedAt !== undefined && Date.parse(key.revokedAt) <= now
  const expired = key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now
  return {
    id: key.id,
    application_id: key.applicationId,
    prefix: key.prefix,
    scope: key.scope,
    status: revoked ? 'revoked' : expired ? 'expired' : 'active',
    created_at: key.createdAt,
    expires_at: key.expiresAt ?? null,
    revoked_at: key.revokedAt ?? null,
    last_used_at: key.lastUsedAt ?? null,
  } as const
}

/** Keys page like every list: by (created_at, id), with the cursor of core/list-cursor.ts. */
const encodeCursor = (key: ApiKeyRecord) => encodeListCursor(key)

function decodeCursor(text: string): { createdAt: string; id: string } {
  const { createdAtMs, id } = decodeListCursor(text)
  return { createdAt: new Date(createdAtMs).toISOString(), id }
}

/** A JSON body that may be absent (`keys create` with no options sends none). */
async function optionalJson(c: Context): Promise<unknown> {
  const text = await c.req.text()
  return text.trim() === '' ? {} : JSON.parse(text)
}

/** An expiry in the past would create a dead key: refused. Returned normalized to UTC with a Z. */
function futureExpiry(expiresAt: string | undefined): string | undefined {
  if (expiresAt === undefined) return undefined
  const at = Date.parse(expiresAt)
  if (at <= Date.now())
    throw new SpansiftError(ErrorCode.invalidArgument, 'expires_at: must be in the future')
  return new Date(at).toISOString()
}

/**
 * The key routes: list an application's keys (prefix, scope, status, created, last
 * used), create one, revoke one, rotate one (a new key with the old one's scope; the old
 * one revoked at once or after a grace period). Keys are named by id or by prefix.
 * Managing keys takes the admin key or an admin-scoped key of the application; a key of
 * another application looks missing.
 */
export function registerKeyRoutes(
  v1: Hono<ApiEnv>,
  deps: { applications: ApplicationsRepository; apiKeys: ApiKeysRepository },
): void {
  async function issue(applicationId: string, scope: KeyScope, expiresAt: string | undefined) {
    const key = generateApiKey()
    const record = {
      id: randomUUID(),
      keyHash: hashApiKey(key),
      applicationId,
      keyPrefix: key.slice(0, PREFIX_LENGTH),
      scope,
      createdAt: new Date().toISOString(),
      expiresAt,
    }
    await deps.apiKeys.create(record)
    return {
      key,
      ...keyToJson({
        ...record,
        prefix: record.keyPrefix,
        revokedAt: undefined,
        lastUsedAt: undefined,
      }),
    }
  }

  /** The key a path names by id or by prefix, if the principal may manage it. */
  async function findKey(principal: Principal, ref: string): Promise<ApiKeyRecord> {
    const matches = isUuidRef(ref)
      ? [await deps.apiKeys.get(ref.toLowerCase())].filter((k) => k !== undefined)
      : ref.startsWith(API_KEY_PREFIX)
        ? await deps.apiKeys.findByPrefix(ref.slice(0, PREFIX_LENGTH))
        : []
    const visible = matches.filter(
      (k) => principal.kind === 'admin' || k.applicationId === principal.applicationId,
    )
    const [key] = visible
    if (!key) throw new SpansiftError(ErrorCode.notFound, `no key ${ref}`)
    if (visible.length > 1) {
      throw new SpansiftError(
        ErrorCode.conflict,
        `several keys have the prefix ${ref}; name the key by its id`,
      )
    }
    requireKeyManager(principal, key.applicationId)
    return key
  }

  v1.get('/applications/:ref/keys', async (c) => {
    const principal = c.get('principal')
    const { id } = await findApplication(deps.applications, principal, c.req.param('ref'))
    requireKeyManager(principal, id)
    const query = listKeysQuery.parse(c.req.query())
    const page = await deps.apiKeys.list(id, {
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit: query.limit + 1,
    })
    const keys = page.slice(0, query.limit)
    return c.json({
      keys: keys.map((k) => keyToJson(k)),
      next_cursor: page.length > query.limit ? encodeCursor(keys.at(-1)!) : null,
    })
  })

  v1.post('/applications/:ref/keys', async (c) => {
    const principal = c.get('principal')
    const { id } = await findApplication(deps.applications, principal, c.req.param('ref'))
    requireKeyManager(principal, id)
    const body = createKeyBody.parse(await optionalJson(c))
    const created = await issue(id, body.scope ?? DEFAULT_KEY_SCOPE, futureExpiry(body.expires_at))
    return c.json(created, 201)
  })

  v1.get('/keys/:ref', async (c) => c.json(keyToJson(await findKey(c.get('principal'), c.req.param('ref')))))

  v1.post('/keys/:ref/revoke', async (c) => {
    const key = await findKey(c.get('principal'), c.req.param('ref'))
    const revoked = await deps.apiKeys.revoke(key.id, new Date().toISOString())
    return c.json(keyToJson(revoked ?? key))
  })

  v1.post('/keys/:ref/rotate', async (c) => {
    const key = await findKey(c.get('principal'), c.req.param('ref'))
    const body = rotateKeyBody.parse(await optionalJson(c))
    if (key.revokedAt !== undefined && Date.parse(key.revokedAt) <= Date.now()) {
      throw new SpansiftError(ErrorCode.conflict, `key ${key.id} is revoked; create a new key instead`)
    }
    const created = await issue(key.applicationId, key.scope, futureExpiry(body.expires_at))
    const at = new Date(Date.now() + (body.grace_seconds ?? 0) * 1000).toISOString()
    const previous = await deps.apiKeys.revoke(key.id, at)
    return c.json({ key: created, previous: keyToJson(previous ?? key) }, 201)
  })
}
