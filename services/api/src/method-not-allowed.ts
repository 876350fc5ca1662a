import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'

/**
 * The methods each route pattern of `app` answers, for telling "no such path" (404)
 * from "this path, another method" (405). Built on first use, once every route is
 * registered; middleware (method ALL) is no route.
 */
export function createAllowedMethods(app: {
  routes: ReadonlyArray<{ method: string; path: string }>
}): (path: string) => string[] {
  let patterns: Array<{ regex: RegExp; methods: Set<string> }> | undefined
  const build = () => {
    const byPath = new Map<string, Set<string>>()
    for (const route of app.routes) {
      if (route.method === 'ALL') continue
      const methods = byPath.get(route.path) ?? new Set<string>()
      methods.add(route.method)
      byPath.set(route.path, methods)
    }
    return [...byPath].map(([path, methods]) => ({
      regex: new RegExp(
        `^${path
          .split('/')
          .map((segment) => {
            if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            // `:name{regex}` matches what the regex does, `:name` any segment.
            const constraint = /^:[^{]+\{(.+)\}$/.exec(segment)?.[1]
            return constraint ? `(?:${constraint})` : '[^/]+'
          })
          .join('/')}/?$`,
      ),
      methods,
    }))
  }
  return (path) => {
    patterns ??= build()
    const allowed = new Set<string>()
    for (const pattern of patterns) {
      if (pattern.regex.test(path)) for (const method of pattern.methods) allowed.add(method)
    }
    // Hono answers HEAD with its GET route.
    if (allowed.has('GET')) allowed.add('HEAD')
    return [...allowed].sort()
  }
}

/** The 405 of a known path asked with a method it does not answer. */
export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): SpansiftError {
  return new SpansiftError(
    ErrorCode.methodNotAllowed,
    `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
  )
}
