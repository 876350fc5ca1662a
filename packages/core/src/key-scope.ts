/**
 * What an application key may do. Every scope is bound to the key's one application;
 * only the configured admin key (SPANSIFT_ADMIN_KEY) acts across applications.
 *
 * - `ingest`: export spans over OTLP (HTTP and gRPC), nothing else: the key to put in
 *   an exporter's configuration, where it is most exposed.
 * - `read-write`: OTLP ingest and the whole API for its application (datasets, rows,
 *   rules, traces, search, review queue). Keys created before scopes existed have it.
 * - `admin`: read-write, and managing its application's keys (list, create, revoke,
 *   rotate). It cannot create or list applications, nor touch another application.
 */
export const KEY_SCOPES = ['ingest', 'read-write', 'admin'] as const
export type KeyScope = (typeof KEY_SCOPES)[number]

/** The scope of a key created without one, and of keys stored before scopes existed. */
export const DEFAULT_KEY_SCOPE: KeyScope = 'read-write'

/** True when `value` is one of the key scopes. */
export function isKeyScope(value: string): value is KeyScope {
  return (KEY_SCOPES as readonly string[]).includes(value)
}
