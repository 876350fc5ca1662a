import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Application keys are shown once and stored only as their SHA-256 hash. */
export const API_KEY_PREFIX = 'ssk_'

/** Generates a new application key: the prefix and 32 random bytes, base64url. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`
}

/** What `generateApiKey` issues: the prefix and 43 base64url characters. */
const ISSUED_KEY = /^ssk_[A-Za-z0-9_-]{43}$/

/** True when `key` has the form spansift issues; any other key is refused without a lookup. */
export function isIssuedApiKeyFormat(key: string): boolean {
  return ISSUED_KEY.test(key)
}

/** The hash a key is stored and looked up by (hex SHA-256). Keys are random, so no salt is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** Compares two secrets in constant time (for the configured admin key). */
export function secretsEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest()
  const right = createHash('sha256').update(b).digest()
  return timingSafeEqual(left, right)
}

/**
 * Reads the key from `Authorization: Bearer <key>` or `X-API-KEY: <key>`, the two
 * forms exporters and the hosted APIs spansift is compatible with use.
 */
export function extractApiKey(headers: {
  authorization?: string | null | undefined
  apiKey?: string | null | undefined
}): string | undefined {
  const auth = headers.authorization?.trim()
  if (auth) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth)
    if (match) return match[1]
  }
  const key = headers.apiKey?.trim()
  return key ? key : undefined
}
