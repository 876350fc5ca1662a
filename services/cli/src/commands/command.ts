import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'

/** Where a command writes: stdout for results, stderr for errors and progress. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
}

/** What main hands every command: its streams and the defaults it resolved from the environment. */
export interface CliContext {
  io: CliIo
  /** The API base URL and key when no flag names them (parsed from the environment once, on demand). */
  apiDefaults(): { apiUrl: string; key: string | undefined }
}

/** One `spansift` command (or subcommand): a summary for listings, its help, and its body. */
export interface Command {
  summary: string
  help: string
  /** Resolves with the exit code: 0 done, 1 failed, 2 usage. */
  run(args: string[], context: CliContext): Promise<number>
}

/** A failure the user can act on; main prints `spansift: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A command line that does not parse: exit code 2, with a pointer to the help. */
export class UsageError extends CliError {
  constructor(message: string, command: string) {
    super(`${message}; run spansift ${command} --help`, 2)
    this.name = 'UsageError'
  }
}

/** The options every API command takes. */
export const API_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'api-url': { type: 'string' },
  key: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig

export const API_OPTIONS_HELP = `  --api-url URL   the spansift API (default http://127.0.0.1:$SPANSIFT_API_PORT, port 8080)
  --key KEY       the API key (default $SPANSIFT_ADMIN_KEY)
  --json          print the API's JSON instead of text
  -h, --help      show this help`

/**
 * Parses a command's arguments strictly: unknown options, missing values and a wrong
 * number of positionals are usage errors naming the command. `optional` positionals
 * may follow the required ones.
 */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  command: string,
  args: string[],
  options: T,
  positionals: readonly string[],
  optional: readonly string[] = [],
) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    // node's messages go on with advice about `--`; the first sentence says what is wrong
    const message = (error instanceof Error ? error.message : String(error)).split(/\.\s|\n/)[0]!
    throw new UsageError(message.replace(/\.$/, ''), command)
  }
  if ((parsed.values as { help?: boolean }).help) return { ...parsed, help: true as const }
  if (parsed.positionals.length < positionals.length) {
    throw new UsageError(`missing ${positionals.slice(parsed.positionals.length).join(' ')}`, command)
  }
  const most = positionals.length + optional.length
  if (parsed.positionals.length > most) {
    throw new UsageError(`unexpected argument "${parsed.positionals[most]}"`, command)
  }
  return { ...parsed, help: false as const }
}

/**
 * A command made of subcommands (`spansift datasets list`): dispatches on the first
 * argument; `--help` (or nothing) lists the subcommands.
 */
export function createCommandGroup(
  name: string,
  summary: string,
  subcommands: Record<string, Command>,
): Command {
  const width = Math.max(...Object.keys(subcommands).map((s) => s.length)) + 2
  const help = `spansift ${name} — ${summary}

usage: spansift ${name} <subcommand> [options]

subcommands:
${Object.entries(subcommands)
  .map(([sub, command]) => `  ${sub.padEnd(width)}${command.summary}`)
  .join('\n')}

Run spansift ${name} <subcommand> --help for its options.`
  return {
    summary,
    help,
    async run(args, context) {
      const [sub, ...rest] = args
      if (sub === '-h' || sub === '--help' || sub === 'help') {
        context.io.stdout.write(`${help}\n`)
        return 0
      }
      if (sub === undefined) {
        context.io.stderr.write(`${help}\n`)
        return 2
      }
      const command = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined
      if (!command) throw new UsageError(`unknown subcommand "${name} ${sub}"`, name)
      return command.run(rest, context)
    },
  }
}

/** Lines of left-aligned columns, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** Prints a command's help on stdout; `--help` exits 0. */
export function printHelp(context: CliContext, command: Command): number {
  context.io.stdout.write(`${command.help}\n`)
  return 0
}
