/** The web app's only way to the server: the public HTTP API, with the tab's key. */

const KEY = 'spansift.key'
const APPLICATION = 'spansift.application'
const REVIEWER = 'spansift.reviewer'

/** The key and the application chosen live in sessionStorage: this tab only, gone when it closes. */
export const session = {
  key: () => sessionStorage.getItem(KEY),
  applicationId: () => sessionStorage.getItem(APPLICATION),
  signIn(key: string, applicationId: string) {
    sessionStorage.setItem(KEY, key)
    sessionStorage.setItem(APPLICATION, applicationId)
  },
  signOut() {
    sessionStorage.removeItem(KEY)
    sessionStorage.removeItem(APPLICATION)
  },
  /** One reviewer id per tab: two tabs are two reviewers to the review queue. */
  reviewer() {
    let id = sessionStorage.getItem(REVIEWER)
    if (!id) {
      id = crypto.randomUUID()
      sessionStorage.setItem(REVIEWER, id)
    }
    return id
  },
}

/** An API refusal, with the API's own words. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Calls the API with the tab's key (or `key`); JSON in, JSON out; a refusal throws ApiError. */
// biome-ignore lint/suspicious/noExplicitAny: API answers are JSON the pages read by field
export async function api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${key ?? session.key() ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (response.status === 204) return undefined as T
  const text = await response.text()
  const parsed = text ? JSON.parse(text) : undefined
  if (response.status === 401 && key === undefined && session.key() !== null) {
    // The tab's key stopped working (revoked): nothing shows without a valid one.
    session.signOut()
    location.reload()
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      parsed?.error?.code ?? 'error',
      parsed?.error?.message ?? `${response.status} ${response.statusText}`,
    )
  }
  return parsed as T
}

/** Downloads an API response as a file (exports need the Authorization header, so no plain link). */
export async function download(path: string, fallbackName: string): Promise<void> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${session.key() ?? ''}` } })
  if (!response.ok) {
    const parsed = await response.json().catch(() => undefined)
    throw new ApiError(
      response.status,
      parsed?.error?.code ?? 'error',
      parsed?.error?.message ?? response.statusText,
    )
  }
  const name =
    /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName
  const url = URL.createObjectURL(await response.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** The [start, end) of "the last N hours", as the API takes it. */
export function rangeOf(hours: number): { start_time: string; end_time: string } {
  const end = Date.now() + 60_000
  return {
    start_time: new Date(end - hours * 3_600_000).toISOString(),
    end_time: new Date(end).toISOString(),
  }
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))
