#!/usr/bin/env node
// A ClickHouse HTTP server over the embedded engine, as its own process, for tests that
// share one ClickHouse between processes or take it away and bring it back:
//   node packages/clickhouse/src/chdb-http-server-main.ts --data-dir D --port P [--host 127.0.0.1]
//     [--max-body-bytes N] [--log-level debug|info|warn|error|silent]
// Prints `listening http://HOST:PORT` on stdout once it answers; SIGTERM or SIGINT
// stops it cleanly (exit 0).
import { parseArgs } from 'node:util'
import { createJsonLogger, LogLevel, type LogLevelName } from '@spansift/core/logger'
import { createChdbHttpServer } from './chdb-http-server.ts'

const USAGE =
  'usage: chdb-http-server-main.ts --data-dir DIR --port PORT [--host 127.0.0.1] [--max-body-bytes N] [--log-level warn]'

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'max-body-bytes': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
})
const dataDir = values['data-dir'] ?? fail('--data-dir is required')
const port = Number(values.port ?? fail('--port is required'))
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${values.port} is not a port`)
const maxBodyBytes = values['max-body-bytes'] === undefined ? undefined : Number(values['max-body-bytes'])
if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
  fail(`--max-body-bytes ${values['max-body-bytes']} is not a positive integer`)
}
const level = values['log-level']
if (!(level in LogLevel)) fail(`--log-level ${level} is not one of ${Object.keys(LogLevel).join(', ')}`)

const logger = createJsonLogger({ level: level as LogLevelName, sink: process.stderr })
const server = createChdbHttpServer({ dataDir, host: values.host, port, logger, maxBodyBytes })

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  logger.info('shutting down', { signal })
  await server.shutdown()
  process.exit(0)
}
process.on('SIGTERM', () => void stop('SIGTERM'))
process.on('SIGINT', () => void stop('SIGINT'))

await server.start()
process.stdout.write(`listening ${server.url().replace(/\/$/, '')}\n`)
