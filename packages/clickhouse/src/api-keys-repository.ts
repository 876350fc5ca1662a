import type { StoredKey } from '@spansift/core/authenticator'
import { DEFAULT_KEY_SCOPE, isKeyScope, type KeyScope } from '@spansift/core/key-scope'
import { clickhouseTimeToRfc3339, rfc3339ToClickhouseTime } from './dataset-time.ts'
import type { QueryParams, QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

/** An application key as listed: never the key, only its prefix. Times are RFC 3339 (Z). */
export interface ApiKeyRecord {
  id: string
  applicationId: string
  prefix: string
  scope: KeyScope
  createdAt: string
  expiresAt: string | undefined
  revokedAt: string | undefined
  /** The last request this key authenticated, as flushed by the processes (minutes behind at most). */
  lastUsedAt: string | undefined
}

/** Where a page of keys ended (keys are listed oldest first). */
export interface ApiKeyPageAfter {
  createdAt: string
  id: string
}

export interface ApiKeysRepository {
  /** Stores a key by its hash; the key itself is never stored. */
  create(key: {
    id: string
    keyHash: string
    applicationId: string
    keyPrefix: string
    scope: KeyScope
    createdAt: string
    expiresAt?: string | undefined
  }): Promise<void>
  /** The key a hash belongs to, revoked and expired ones included (the authenticator decides). */
  findByHash(keyHash: string): Promise<StoredKey | undefined>
  get(id: string): Promise<ApiKeyRecord | undefined>
  /** The keys whose prefix is `prefix` (usually one). */
  findByPrefix(prefix: string): Promise<ApiKeyRecord[]>
  /** A page of an application's keys, oldest first, after `after`. */
  list(
    applicationId: string,
    page: { after?: ApiKeyPageAfter | undefined; limit: number },
  ): Promise<ApiKeyRecord[]>
  /** Marks the key revoked from `at` on (a time in the future is a grace period); an earlier revocation stands. */
  revoke(id: string, at: string): Promise<ApiKeyRecord | undefined>
  /** Records the keys' last use (one row per key; the latest time wins). */
  recordUse(uses: readonly { keyId: string; at: string }[]): Promise<void>
}

type Row = {
  id: string
  key_hash: string
  application_id: string
  key_prefix: string
  scope: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
}

const COLUMNS = 'id, key_hash, application_id, key_prefix, scope, created_at, expires_at, revoked_at'
const scopeOf = (text: string): KeyScope => (isKeyScope(text) ? text : DEFAULT_KEY_SCOPE)
const optionalTime = (text: string | null) => (text ? clickhouseTimeToRfc3339(text) : undefined)

/** The `api_keys` and `api_key_usage` tables. */
export function createApiKeysRepository(runner: QueryRunner): ApiKeysRepository {
  const { apiKeys, apiKeyUsage } = tableNames(runner.database)

  async function withLastUse(rows: Row[]): Promise<ApiKeyRecord[]> {
    if (rows.length === 0) return []
    const used = await runner.select<{ key_id: string; last_used_at: string }>(
      'api-keys.last-used',
      `SELECT key_id, max(last_used_at) AS last_used_at FROM ${apiKeyUsage}
       WHERE key_id IN {ids:Array(UUID)} GROUP BY key_id`,
      { ids: rows.map((row) => row.id) },
    )
    const lastUse = new Map(used.map((u) => [u.key_id, u.last_used_at]))
    return rows.map((row) => ({
      id: row.id,
      applicationId: row.application_id,
      prefix: row.key_prefix,
      scope: scopeOf(row.scope),
      createdAt: clickhouseTimeToRfc3339(row.created_at),
      expiresAt: optionalTime(row.expires_at),
      revokedAt: optionalTime(row.revoked_at),
      lastUsedAt: optionalTime(lastUse.get(row.id) ?? null),
    }))
  }

  const selectRows = (tag: string, where: string, params: QueryParams) =>
    runner.select<Row>(
      tag,
      `SELECT ${COLUMNS} FROM ${apiKeys} FINAL WHERE ${where} ORDER BY created_at, id`,
      params,
    )

  const get = async (id: string) =>
    (await withLastUse(await selectRows('api-keys.get', 'id = {id:UUID}', { id })))[0]

  return {
    create: (key) =>
      runner.insert('api-keys.create', apiKeys, [
        {
          id: key.id,
          key_hash: key.keyHash,
          application_id: key.applicationId,
          key_prefix: key.keyPrefix,
          scope: key.scope,
          created_at: rfc3339ToClickhouseTime(key.createdAt),
          expires_at: key.expiresAt ? rfc3339ToClickhouseTime(key.expiresAt) : null,
          revoked_at: null,
        },
      ]),
    async findByHash(keyHash) {
      const [row] = await selectRows('api-keys.find', 'key_hash = {key_hash:FixedString(64)}', {
        key_hash: keyHash,
      })
      if (!row) return undefined
      return {
        id: row.id,
        applicationId: row.application_id,
        scope: scopeOf(row.scope),
        expiresAt: row.expires_at ? Date.parse(clickhouseTimeToRfc3339(row.expires_at)) : undefined,
        revokedAt: row.revoked_at ? Date.parse(clickhouseTimeToRfc3339(row.revoked_at)) : undefined,
      }
    },
    get,
    async findByPrefix(prefix) {
      return withLastUse(await selectRows('api-keys.by-prefix', 'key_prefix = {prefix:String}', { prefix }))
    },
    async list(applicationId, page) {
      const after = page.after
      const rows = await runner.select<Row>(
        'api-keys.list',
        `SELECT ${COLUMNS} FROM ${apiKeys} FINAL
         WHERE application_id = {application_id:UUID}
           ${after ? "AND (created_at, id) > ({after_created:DateTime64(3, 'UTC')}, {after_id:UUID})" : ''}
         ORDER BY created_at, id LIMIT {limit:UInt32}`,
        {
          application_id: applicationId,
          limit: page.limit,
          ...(after ? { after_created: rfc3339ToClickhouseTime(after.createdAt), after_id: after.id } : {}),
        },
      )
      return withLastUse(rows)
    },
    async revoke(id, at) {
      const [row] = await selectRows('api-keys.revoke-read', 'id = {id:UUID}', { id })
      if (!row) return undefined
      const earlier = row.revoked_at && Date.parse(clickhouseTimeToRfc3339(row.revoked_at)) <= Date.parse(at)
      if (!earlier) {
        await runner.insert('api-keys.revoke', apiKeys, [{ ...row, revoked_at: rfc3339ToClickhouseTime(at) }])
      }
      return get(id)
    },
    async recordUse(uses) {
      if (uses.length === 0) return
      await runner.insert(
        'api-keys.record-use',
        apiKeyUsage,
        uses.map((use) => ({ key_id: use.keyId, last_used_at: rfc3339ToClickhouseTime(use.at) })),
      )
    },
  }
}
