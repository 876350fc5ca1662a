import type { Authenticator } from '@spansift/core/authenticator'

/** The receivers' unit tests' keys: one application key, one revoked key; any other is unknown. */
export const TEST_APP_KEY = 'ssk_unit-test-key'
export const TEST_REVOKED_KEY = 'ssk_revoked-key'
export const TEST_APPLICATION_ID = '00000000-0000-4000-8000-000000000001'

/**
 * An authenticator answering as the real one does for the test keys, without storage;
 * `unreachable()` true makes it fail as when the key store (ClickHouse) cannot be reached.
 */
export function createTestAuthenticator(unreachable: () => boolean = () => false): Authenticator {
  return {
    async authenticate(key) {
      if (unreachable()) throw new Error('ClickHouse is unreachable')
      if (key === TEST_APP_KEY) {
        return {
          principal: {
            kind: 'application',
            applicationId: TEST_APPLICATION_ID,
            keyId: '00000000-0000-4000-8000-0000000000aa',
            scope: 'ingest',
          },
        }
      }
      if (key === TEST_REVOKED_KEY) return { refused: 'revoked', message: 'the API key has been revoked' }
      return key
        ? { refused: 'unknown', message: 'the API key is not valid' }
        : { refused: 'missing', message: 'an API key is required' }
    },
  }
}
