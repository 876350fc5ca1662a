import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'

export interface OpsServerOptions {
  host: string
  port: number
  /** The metrics in the Prometheus text format. */
  scrape(): Promise<{ contentType: string; body: string }>
  /** The dependencies /readyz asks, by name; each says whether it answers (and must not throw). */
  readinessChecks: Readonly<Record<string, () => Promise<boolean>>>
  logger: Logger
}

export interface OpsServer extends Stage {
  /** The port actually bound (useful with port 0). */
  port(): number
}

/**
 * The operations endpoints every spansift process serves, whatever its roles:
 * `GET /metrics` (Prometheus text), `GET /healthz` (200 while the process is up) and
 * `GET /readyz` (200 when every dependency answers, else 503 naming those that do not).
 */
export function createOpsServer(options: OpsServerOptions): OpsServer {
  const logger = options.logger.child({ component: 'ops' })
  let server: Server | undefined

  async function readiness(): Promise<{ ready: boolean; checks: Record<string, 'up' | 'down'> }> {
    const entries = Object.entries(options.readinessChecks)
    const results = await Promise.all(entries.map(([, check]) => check().catch(() => false)))
    const checks = Object.fromEntries(entries.map(([name], i) => [name, results[i] ? 'up' : 'down'] as const))
    return { ready: results.every(Boolean), checks }
  }

  async function handle(method: string, path: string, response: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') return json(response, 405, { error: 'use GET' })
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await options.scrape()
        response.writeHead(200, { 'content-type': contentType })
        response.end(body)
        return
      }
      case '/healthz':
        return json(response, 200, { status: 'ok' })
      case '/readyz': {
        const { ready, checks } = await readiness()
        return json(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks })
      }
      default:
        return json(response, 404, { error: `no such endpoint ${path}; try /metrics, /healthz or /readyz` })
    }
  }

  return {
    port: () => (server?.address() as AddressInfo | null)?.port ?? options.port,
    async start() {
      server = createServer((request, response) => {
        const path = (request.url ?? '/').split('?', 1)[0]!
        handle(request.method ?? 'GET', path, response).catch((error: unknown) => {
          logger.error('ops request failed', { path, error })
          if (!response.headersSent) json(response, 500, { error: 'internal error' })
          else response.destroy()
        })
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(options.port, options.host, () => resolve())
      })
      logger.info('ops server listening (/metrics, /healthz, /readyz)', {
        host: options.host,
        port: this.port(),
      })
    },
    async shutdown() {
      if (!server) return
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()))
      server.closeAllConnections()
      await closing
      server = undefined
    },
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  response.end(text)
}
