import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'

export interface ApiServer extends Stage {
  port(): number
}

/** Serves a Hono app over node:http on host:port. */
export function createApiServer(options: {
  app: { fetch: (request: Request) => Response | Promise<Response> }
  host: string
  port: number
  logger: Logger
}): ApiServer {
  let server: ServerType | undefined
  return {
    port: () => (server?.address() as AddressInfo | null)?.port ?? options.port,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server = serve({ fetch: options.app.fetch, hostname: options.host, port: options.port }, () =>
          resolve(),
        )
        server.once('error', reject)
      })
      options.logger.info('API listening', { host: options.host, port: this.port() })
    },
    async shutdown() {
      if (!server) return
      const s = server
      server = undefined
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        if ('closeIdleConnections' in s) s.closeIdleConnections()
      })
    },
  }
}
