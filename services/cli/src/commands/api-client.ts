import { type CliContext, CliError, UsageError } from './command.ts'

/** The spansift HTTP API as the CLI uses it: every failure is a one-line CliError. */
export interface ApiClient {
  /** Sends a request and resolves with the parsed JSON body of a 2xx answer. */
  json<T>(method: string, path: string, body?: unknown): Promise<T>
  /** A GET that resolves with undefined on 404 (a lookup), else like `json`. */
  find<T>(path: string): Promise<T | undefined>
  /**
   * Every entry of a paginated list (`{<field>: [...], next_cursor}`), following the
   * cursors a page of 1000 at a time; at most `MAX_LIST_PAGES` pages.
   */
  listAll<T>(path: string, field: string): Promise<T[]>
  /** A GET whose 2xx body is streamed; the timeout covers the answer's headers only. */
  stream(path: string): Promise<{ body: ReadableStream<Uint8Array>; headers: Headers }>
}

export interface ApiClientOptions {
  baseUrl: string
  key: string
  /** How long to wait for an answer (a JSON body, or a stream's headers). */
  timeoutMs?: number
}

/** The most pages `listAll` reads (a million entries): a loop that cannot run away. */
export const MAX_LIST_PAGES = 1000
const LIST_PAGE_SIZE = 1000

/** Builds the client from `--api-url`/`--key`, falling back to the environment's defaults. */
export function apiClientFor(
  command: string,
  values: { 'api-url'?: string | undefined; key?: string | undefined },
  context: CliContext,
): ApiClient {
  const defaults =
    values['api-url'] !== undefined && values.key !== undefined ? undefined : context.apiDefaults()
  const baseUrl = values['api-url'] ?? defaults!.apiUrl
  const key = values.key ?? defaults!.key
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new UsageError(`--api-url must be an http(s) URL, got "${baseUrl}"`, command)
  }
  if (!key) throw new UsageError('no API key: set SPANSIFT_ADMIN_KEY or pass --key', command)
  return createApiClient({ baseUrl, key })
}

/** A client of the API at `baseUrl`, authenticating with `key`. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 30_000

  async function send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    notFoundIsAnswer = false,
  ): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      })
    } catch (error) {
      throw unreachable(error)
    }
    if (!response.ok && !(notFoundIsAnswer && response.status === 404)) throw await refused(response)
    return response
  }

  function unreachable(error: unknown): CliError {
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new CliError(`spansift at ${baseUrl} did not answer within ${timeoutMs / 1000} s`)
    }
    const cause =
      error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
    return new CliError(
      `cannot reach spansift at ${baseUrl} (${reason}); is it running? (set --api-url or SPANSIFT_API_PORT)`,
    )
  }

  async function parse<T>(method: string, path: string, response: Response): Promise<T> {
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      throw unreachable(error)
    }
    try {
      return (text ? JSON.parse(text) : undefined) as T
    } catch {
      throw new CliError(`the API answered ${method} ${path} with a body that is not JSON`)
    }
  }

  return {
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await send(method, path, body, AbortSignal.timeout(timeoutMs))
      return parse<T>(method, path, response)
    },
    async listAll<T>(path: string, field: string) {
      const entries: T[] = []
      let cursor: string | null = null
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const url = new URL(path, 'http://x')
        url.searchParams.set('limit', String(LIST_PAGE_SIZE))
        if (cursor !== null) url.searchParams.set('cursor', cursor)
        const response = await send(
          'GET',
          `${url.pathname}${url.search}`,
          undefined,
          AbortSignal.timeout(timeoutMs),
        )
        const body = await parse<Record<string, unknown>>('GET', path, response)
        const items = body?.[field]
        if (!Array.isArray(items))
          throw new CliError(`the API answered GET ${path} without a list of ${field}`)
        entries.push(...(items as T[]))
        cursor = typeof body.next_cursor === 'string' ? body.next_cursor : null
        if (cursor === null) return entries
      }
      throw new CliError(`GET ${path} has more than ${MAX_LIST_PAGES} pages; narrow the listing`)
    },
    async find<T>(path: string): Promise<T | undefined> {
      const response = await send('GET', path, undefined, AbortSignal.timeout(timeoutMs), true)
      if (response.status === 404) {
        await response.body?.cancel()
        return undefined
      }
      return parse<T>('GET', path, response)
    },
    async stream(path) {
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs)
      try {
        const response = await send('GET', path, undefined, controller.signal)
        if (!response.body) throw new CliError(`the API answered GET ${path} without a body`)
        return { body: response.body, headers: response.headers }
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

const HINTS: Record<number, string> = {
  401: ' (check SPANSIFT_ADMIN_KEY or --key)',
  403: ' (this key may not do that)',
}

/** A non-2xx answer as one line: the status and the API's own `{error: {code, message}}`. */
async function refused(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => '')
  let detail = text.trim().slice(0, 300)
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } }
    if (body.error?.message) detail = `${body.error.code ? `${body.error.code}: ` : ''}${body.error.message}`
  } catch {
    // not JSON (a proxy's page, say): show its start
  }
  const oneLine = detail.replace(/\s+/g, ' ')
  return new CliError(
    `the API answered ${response.status}${oneLine ? ` ${oneLine}` : ` ${response.statusText}`}${HINTS[response.status] ?? ''}`,
  )
}
