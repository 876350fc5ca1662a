import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'

/** `bytes` random bytes as lowercase hex: a trace id is hex(16), a span id hex(8). */
export const randomHexId = (bytes: number): string => randomBytes(bytes).toString('hex')

/**
 * An OTLP/JSON ExportTraceServiceRequest carrying `spans` (ids as given, any length, so
 * tests can send bad ones), started and ended now, under one resource and scope.
 */
export function otlpJsonExport(
  spans: ReadonlyArray<{ traceId: string; spanId: string; name?: string }>,
  serviceName = 'svc',
): string {
  const now = (BigInt(Date.now()) * 1_000_000n).toString()
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: 'hand-built' },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              name: span.name ?? 'op',
              kind: 1,
              startTimeUnixNano: now,
              endTimeUnixNano: now,
            })),
          },
        ],
      },
    ],
  })
}

/** A free loopback port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
