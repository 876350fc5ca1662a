#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { openStorage } from '@spansift/clickhouse/storage'
import { createJsonLogger } from '@spansift/core/logger'
import { ConfigError, parseConfig } from './config.ts'
import { parseRoles } from './roles.ts'
import { createSpansift } from './spansift.ts'

const USAGE = `spansift — turn OpenTelemetry traces into curated datasets

usage: spansift <command> [options]

commands:
  start       run the receiver, workers and API (embedded bus and storage by default)
              --role receiver|span-writer|rule-worker|api|all   (repeatable; default all;
              a subset needs SPANSIFT_KAFKA_BROKERS, the bus between processes)
  migrate     apply pending ClickHouse migrations and exit

options:
  -h, --help  show this help

Configuration comes from SPANSIFT_* environment variables (see the README).`

interface Command {
  summary: string
  run(args: string[]): Promise<number>
}

/** The commands, as a table: adding one is one entry. */
const commands: Record<string, Command> = {
  start: {
    summary: 'run the receiver, workers and API',
    async run(args) {
      const { values } = parseArgs({ args, options: { role: { type: 'string', multiple: true } } })
      const roles = parseRoles(values.role ?? [])
      const config = parseConfig(process.env)
      const logger = createJsonLogger({ level: config.logLevel, sink: process.stderr })
      const spansift = createSpansift(config, logger, { roles })
      let stopping = false
      const stop = async (signal: string) => {
        if (stopping) return
        stopping = true
        logger.info('shutting down', { signal })
        const deadline = setTimeout(() => {
          logger.error('shutdown took too long; exiting')
          process.exit(1)
        }, 30_000)
        deadline.unref()
        await spansift.shutdown()
        logger.info('stopped')
        process.exit(0)
      }
      process.on('SIGTERM', () => void stop('SIGTERM'))
      process.on('SIGINT', () => void stop('SIGINT'))
      await spansift.start()
      const ports = spansift.ports()
      logger.info('spansift started', {
        otlp_http_port: ports.otlpHttp,
        otlp_grpc_port: ports.otlpGrpc,
        api_port: ports.api,
        host: config.host,
      })
      return new Promise<number>(() => {}) // runs until a signal stops it
    },
  },
  migrate: {
    summary: 'apply pending migrations',
    async run() {
      const config = parseConfig(process.env)
      const logger = createJsonLogger({ level: config.logLevel, sink: process.stderr })
      const storage = await openStorage({
        url: config.clickhouseUrl,
        dataDir: config.dataDir,
        logger,
        migrate: true,
        spanRetentionDays: config.spanRetentionDays,
      })
      await storage.close()
      return 0
    },
  },
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' } },
  })
  const name = positionals[0]
  if (!name || name === 'help') {
    console.log(USAGE)
    return name ? 0 : values.help ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    console.error(`spansift: unknown command "${name}"; run spansift --help`)
    return 2
  }
  if (values.help) {
    console.log(`spansift ${name}: ${command.summary}\n\n${USAGE}`)
    return 0
  }
  return command.run(argv.slice(1))
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`spansift: ${error.message}`)
      process.exit(2)
    }
    console.error(`spansift: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  },
)
