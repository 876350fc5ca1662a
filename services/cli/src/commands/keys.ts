import type { ApiClient } from './api-client.ts'
import { apiClientFor } from './api-client.ts'
import { resolveApplicationRef } from './api-refs.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type CliContext,
  type Command,
  createCommandGroup,
  formatTable,
  parseCommandArgs,
  printHelp,
  UsageError,
} from './command.ts'

interface KeyJson {
  id: string
  application_id: string
  prefix: string
  scope: string
  status: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
}
type CreatedKeyJson = KeyJson & { key: string }

const EXPIRY_OPTIONS = {
  ...API_OPTIONS,
  expires: { type: 'string' },
  'expires-in': { type: 'string' },
} as const

const EXPIRY_HELP = `  --expires TIME  the key stops working at TIME (RFC 3339, e.g. 2027-01-31T00:00:00Z)
  --expires-in D  the key stops working after D: a number and s, m, h, d or w (e.g. 30d)`

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** Seconds of a duration like `90s`, `15m`, `12h`, `30d` or `2w`; undefined if it is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d{1,6})([smhdw])$/.exec(text.trim())
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]!]! : undefined
}

/** The expiry the options ask for, as RFC 3339; at most one of --expires and --expires-in. */
function expiryOf(command: string, values: { expires?: string; 'expires-in'?: string }): string | undefined {
  if (values.expires !== undefined && values['expires-in'] !== undefined) {
    throw new UsageError('give --expires or --expires-in, not both', command)
  }
  if (values['expires-in'] !== undefined) {
    const seconds = parseDurationSeconds(values['expires-in'])
    if (seconds === undefined) {
      throw new UsageError(
        `--expires-in "${values['expires-in']}" is not a duration like 30d or 12h`,
        command,
      )
    }
    return new Date(Date.now() + seconds * 1000).toISOString()
  }
  return values.expires
}

/** Prints a key just created: the key alone on stdout (for scripts), what it is on stderr. */
function printCreated(
  context: CliContext,
  json: boolean | undefined,
  created: CreatedKeyJson,
  extra = '',
): void {
  if (json) return void context.io.stdout.write(`${JSON.stringify(created)}\n`)
  context.io.stdout.write(`${created.key}\n`)
  const expiry = created.expires_at ? `, expires ${created.expires_at}` : ''
  context.io.stderr.write(
    `spansift: key ${created.id} (${created.prefix}…, scope ${created.scope}${expiry}) for application ${created.application_id}${extra}; shown once, store it now\n`,
  )
}

const create: Command = {
  summary: "create an application's API key (admin key, or an admin-scoped key of it)",
  help: `spansift keys create — create an API key for an application

usage: spansift keys create <application> [options]

<application> is its id or its name. Needs the admin key, or an admin-scoped key of
that application.

Prints the key on stdout. It is shown once: spansift stores only its hash.

options:
  --scope S       ingest (OTLP export only), read-write (OTLP and the API; the
                  default) or admin (read-write, and managing this application's keys)
${EXPIRY_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const options = { ...EXPIRY_OPTIONS, scope: { type: 'string' } } as const
    const parsed = parseCommandArgs('keys create', args, options, ['<application>'])
    if (parsed.help) return printHelp(context, create)
    const expiresAt = expiryOf('keys create', parsed.values)
    const client = apiClientFor('keys create', parsed.values, context)
    const applicationId = await resolveApplicationRef(client, parsed.positionals[0]!)
    const created = await client.json<CreatedKeyJson>(
      'POST',
      `/v1/applications/${encodeURIComponent(applicationId)}/keys`,
      {
        ...(parsed.values.scope !== undefined ? { scope: parsed.values.scope } : {}),
        ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
      },
    )
    printCreated(context, parsed.values.json, created)
    return 0
  },
}

/** Every key of an application, page after page. */
async function allKeys(client: ApiClient, applicationId: string): Promise<KeyJson[]> {
  const keys: KeyJson[] = []
  let cursor: string | null = null
  do {
    const query = new URLSearchParams({ limit: '1000', ...(cursor ? { cursor } : {}) })
    const page: { keys: KeyJson[]; next_cursor: string | null } = await client.json(
      'GET',
      `/v1/applications/${encodeURIComponent(applicationId)}/keys?${query}`,
    )
    keys.push(...page.keys)
    cursor = page.next_cursor
  } while (cursor)
  return keys
}

const list: Command = {
  summary: "list an application's keys: prefix, scope, status, created, last used",
  help: `spansift keys list — list an application's API keys

usage: spansift keys list <application> [options]

Shows each key's id, prefix (never the key), scope, status (active, revoked, expired),
creation, last use and expiry. Last use is recorded by every spansift process every
SPANSIFT_KEY_USAGE_FLUSH_SECONDS (30 s by default), so it may be that much behind.

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('keys list', args, API_OPTIONS, ['<application>'])
    if (parsed.help) return printHelp(context, list)
    const client = apiClientFor('keys list', parsed.values, context)
    const applicationId = await resolveApplicationRef(client, parsed.positionals[0]!)
    const keys = await allKeys(client, applicationId)
    if (parsed.values.json) {
      context.io.stdout.write(`${JSON.stringify({ keys })}\n`)
    } else if (keys.length === 0) {
      context.io.stdout.write('no keys\n')
    } else {
      const rows = keys.map((k) => [
        k.id,
        k.prefix,
        k.scope,
        k.status,
        k.created_at,
        k.last_used_at ?? '-',
        k.expires_at ?? '-',
      ])
      context.io.stdout.write(
        `${formatTable(['ID', 'PREFIX', 'SCOPE', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES'], rows)}\n`,
      )
    }
    return 0
  },
}

const revoke: Command = {
  summary: 'revoke a key, by id or prefix: refused everywhere within seconds',
  help: `spansift keys revoke — revoke an API key

usage: spansift keys revoke <key-id|prefix> [options]

The key is named by its id or by its prefix (as keys list shows it, e.g. ssk_AbC123).
Every spansift process refuses it within SPANSIFT_KEY_CACHE_SECONDS (5 s by default),
on OTLP and on the API, with a 401 that says it was revoked.

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('keys revoke', args, API_OPTIONS, ['<key-id|prefix>'])
    if (parsed.help) return printHelp(context, revoke)
    const client = apiClientFor('keys revoke', parsed.values, context)
    const key = await client.json<KeyJson>(
      'POST',
      `/v1/keys/${encodeURIComponent(parsed.positionals[0]!)}/revoke`,
    )
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(key)}\n`
        : `revoked key ${key.id} (${key.prefix}…) at ${key.revoked_at}\n`,
    )
    return 0
  },
}

const rotate: Command = {
  summary: 'replace a key: a new one with its scope; the old one revoked (after --grace)',
  help: `spansift keys rotate — replace an API key

usage: spansift keys rotate <key-id|prefix> [options]

Creates a new key with the old key's scope and prints it (shown once); the old key is
revoked at once, or after the grace period, so exporters can be moved over first.

options:
  --grace D       keep the old key working for D (e.g. 10m, 1h; at most 7d)
${EXPIRY_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const options = { ...EXPIRY_OPTIONS, grace: { type: 'string' } } as const
    const parsed = parseCommandArgs('keys rotate', args, options, ['<key-id|prefix>'])
    if (parsed.help) return printHelp(context, rotate)
    const expiresAt = expiryOf('keys rotate', parsed.values)
    const grace = parsed.values.grace
    const graceSeconds = grace === undefined ? undefined : parseDurationSeconds(grace)
    if (grace !== undefined && graceSeconds === undefined) {
      throw new UsageError(`--grace "${grace}" is not a duration like 10m or 1h`, 'keys rotate')
    }
    const client = apiClientFor('keys rotate', parsed.values, context)
    const rotated = await client.json<{ key: CreatedKeyJson; previous: KeyJson }>(
      'POST',
      `/v1/keys/${encodeURIComponent(parsed.positionals[0]!)}/rotate`,
      {
        ...(graceSeconds !== undefined ? { grace_seconds: graceSeconds } : {}),
        ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
      },
    )
    if (parsed.values.json) {
      context.io.stdout.write(`${JSON.stringify(rotated)}\n`)
      return 0
    }
    printCreated(
      context,
      false,
      rotated.key,
      `; the old key ${rotated.previous.prefix}… is revoked ${
        rotated.previous.status === 'revoked' ? 'now' : `at ${rotated.previous.revoked_at}`
      }`,
    )
    return 0
  },
}

/** `spansift keys create|list|revoke|rotate`. */
export const keysCommand = createCommandGroup('keys', 'create, list, revoke and rotate API keys', {
  create,
  list,
  revoke,
  rotate,
})
