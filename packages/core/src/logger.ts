/** Structured logging: one JSON object a line, filtered by level. */

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
export type LogLevelName = keyof typeof LogLevel

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

export interface LogSink {
  write(line: string): unknown
}

/** Creates a JSON-lines logger writing to `sink` (stderr in the CLI). */
export function createJsonLogger(options: {
  level: LogLevelName
  sink: LogSink
  fields?: Record<string, unknown>
}): Logger {
  const threshold = LogLevel[options.level]
  const base = options.fields ?? {}
  const emit = (
    level: Exclude<LogLevelName, 'silent'>,
    message: string,
    fields?: Record<string, unknown>,
  ) => {
    if (LogLevel[level] < threshold) return
    const record = { time: new Date().toISOString(), level, msg: message, ...base, ...fields }
    options.sink.write(`${JSON.stringify(record, jsonSafe)}\n`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createJsonLogger({ ...options, fields: { ...base, ...fields } }),
  }
}

/** A logger that drops everything (tests that assert on other output). */
export const silentLogger: Logger = createJsonLogger({ level: 'silent', sink: { write: () => undefined } })

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}
