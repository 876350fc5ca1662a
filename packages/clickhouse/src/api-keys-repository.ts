import type { QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

export interface ApiKeysRepository {
  /** Stores a key by its hash; the key itself is never stored. */
  create(key: { keyHash: string; applicationId: string; keyPrefix: string }): Promise<void>
  /** The application a key hash belongs to, if any. */
  findApplicationId(keyHash: string): Promise<string | undefined>
}

export function createApiKeysRepository(runner: QueryRunner): ApiKeysRepository {
  const { apiKeys } = tableNames(runner.database)
  return {
    create: (key) =>
      runner.insert('api-keys.create', apiKeys, [
        { key_hash: key.keyHash, application_id: key.applicationId, key_prefix: key.keyPrefix },
      ]),
    async findApplicationId(keyHash) {
      const rows = await runner.select<{ application_id: string }>(
        'api-keys.find',
        `SELECT application_id FROM ${apiKeys} FINAL WHERE key_hash = {key_hash:FixedString(64)} LIMIT 1`,
        { key_hash: keyHash },
      )
      return rows[0]?.application_id
    },
  }
}
