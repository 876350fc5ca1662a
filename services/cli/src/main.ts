#!/usr/bin/env node
import { createJsonLogger } from '@spansift/core/logger'
import { applicationsCommand } from './commands/applications.ts'
import { type CliContext, CliError, type Command, parseCommandArgs, printHelp } from './commands/command.ts'
import { datasetsCommand } from './commands/datasets.ts'
import { itemsCommand, queueCommand } from './commands/items.ts'
import { keysCommand } from './commands/keys.ts'
import { createRulesCommand } from './commands/rules.ts'
import { ConfigError, parseConfig } from './config.ts'
import { parseRoles } from './roles.ts'
import { describeStartError } from './start-errors.ts'

const START_HELP = `spansift start — run the receiver, workers and API (embedded bus and storage by default)

usage: spansift start [--role ROLE]...

options:
  --role R    receiver, span-writer, rule-worker, api or all (repeatable; default all);
              a subset needs SPANSIFT_KAFKA_BROKERS, the bus between processes
  -h, --help  show this help

Configuration comes from SPANSIFT_* environment variables (see the README).`

const MIGRATE_HELP = `spansift migrate — apply pending ClickHouse migrations and exit

usage: spansift migrate

Opens the storage named by SPANSIFT_CLICKHOUSE_URL, or the embedded one in
SPANSIFT_DATA_DIR (not while a spansift process runs on that directory).`

/** The commands, as a table: adding one is one entry. */
const commands: Record<string, Command> = {
  start: {
    summary: 'run the receiver, workers and API (embedded bus and storage by default)',
    help: START_HELP,
    async run(args, context) {
      const parsed = parseCommandArgs(
        'start',
        args,
        { role: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
        [],
      )
      if (parsed.help) return printHelp(context, commands.start!)
      const values = parsed.values
      const roles = parseRoles(values.role ?? [])
      const config = parseConfig(process.env)
      const logger = createJsonLogger({ level: config.logLevel, sink: process.stderr })
      if (!config.adminKey && roles.has('api')) {
        logger.warn(
          'SPANSIFT_ADMIN_KEY is not set: every admin call (applications, keys, datasets of any application) is refused with 401. Set SPANSIFT_ADMIN_KEY to a secret of at least 16 characters and restart.',
        )
      }
      // Loaded here, not at the top: the API commands start fast without the storage engine.
      const { createSpansift } = await import('./spansift.ts')
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
      try {
        await spansift.start()
      } catch (error) {
        const described = describeStartError(error, config)
        if (described === undefined) throw error
        throw new CliError(described, 1)
      }
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
    summary: 'apply pending ClickHouse migrations and exit',
    help: MIGRATE_HELP,
    async run(args, context) {
      const parsed = parseCommandArgs('migrate', args, { help: { type: 'boolean', short: 'h' } }, [])
      if (parsed.help) return printHelp(context, commands.migrate!)
      const config = parseConfig(process.env)
      const logger = createJsonLogger({ level: config.logLevel, sink: process.stderr })
      const { openStorage } = await import('@spansift/clickhouse/storage')
      const storage = await openStorage({
        url: config.clickhouseUrl,
        dataDir: config.dataDir,
        logger,
        migrate: true,
        spanRetentionDays: config.spanRetentionDays,
        cluster: config.clickhouseCluster,
      })
      await storage.close()
      return 0
    },
  },
  applications: applicationsCommand,
  keys: keysCommand,
  datasets: datasetsCommand,
  items: itemsCommand,
  queue: queueCommand,
  rules: createRulesCommand({ defaultRulesDir: () => parseConfig(process.env).rulesDir }),
}

const USAGE = `spansift — turn OpenTelemetry traces into curated datasets

usage: spansift <command> [options]

commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(14)}${command.summary}`)
  .join('\n')}

options:
  -h, --help    show this help (spansift <command> --help for a command's)

The admin commands (applications, keys, datasets, rules list|test|backfill) call a
running spansift over its HTTP API: --api-url (default http://127.0.0.1:$SPANSIFT_API_PORT) and --key (default
$SPANSIFT_ADMIN_KEY). Configuration comes from SPANSIFT_* environment variables (see the README).`

const context: CliContext = {
  io: { stdout: process.stdout, stderr: process.stderr },
  apiDefaults() {
    const config = parseConfig(process.env)
    return { apiUrl: `http://127.0.0.1:${config.apiPort}`, key: config.adminKey }
  },
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === '-h' || name === '--help' || name === 'help') {
    console.log(USAGE)
    return 0
  }
  if (name === undefined) {
    console.error(USAGE)
    return 2
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) {
    console.error(`spansift: unknown command "${name}"; run spansift --help`)
    return 2
  }
  return command.run(rest, context)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CliError) {
      console.error(`spansift: ${error.message}`)
      process.exit(error.exitCode)
    }
    if (error instanceof ConfigError) {
      console.error(`spansift: ${error.message}`)
      process.exit(2)
    }
    console.error(`spansift: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  },
)
