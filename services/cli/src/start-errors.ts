import type { Config } from './config.ts'

/** The setting behind each port a process listens on. */
const PORT_SETTINGS = [
  ['otlpHttpPort', 'SPANSIFT_OTLP_HTTP_PORT'],
  ['otlpGrpcPort', 'SPANSIFT_OTLP_GRPC_PORT'],
  ['apiPort', 'SPANSIFT_API_PORT'],
  ['metricsPort', 'SPANSIFT_METRICS_PORT'],
] as const satisfies ReadonlyArray<readonly [keyof Config, string]>

/**
 * A start-up failure a person can act on, or undefined to report the error as it is: a port
 * already in use names the variable that moves it (Node's own message gives only the
 * address).
 */
export function describeStartError(error: unknown, config: Config): string | undefined {
  const { code, port, address } = (error ?? {}) as { code?: unknown; port?: unknown; address?: unknown }
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined
  const settings = PORT_SETTINGS.filter(([field]) => config[field] === port).map(([, name]) => name)
  const where = `${typeof address === 'string' ? address : config.host}:${String(port)}`
  const what =
    code === 'EADDRINUSE' ? `${where} is already in use` : `${where} may not be listened on (EACCES)`
  if (settings.length === 0) return `${what}`
  return `${what}: set ${settings.join(' or ')} to a free port (or stop what listens there)`
}
