import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import type { Transform } from 'node:stream'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import type { Stage } from '@spansift/core/lifecycle'
import { type Logger, silentLogger } from '@spansift/core/logger'
import { Session, version } from 'chdb'

/**
 * A ClickHouse HTTP interface in front of the embedded engine (chdb), for tests that
 * need one ClickHouse shared by several processes, or a ClickHouse that goes away and
 * comes back. `@clickhouse/client` talks to it unchanged: queries with `param_*`
 * parameters, per-query settings, `database`, `query_id`, inserts with the data in the
 * body, gzip/deflate/br/zstd both ways, `/ping`, and errors in the server's own shape.
 */
export interface ChdbHttpServer extends Stage {
  /** The bound port (the real one when started on port 0). */
  port(): number
  /** `http://host:port/` plus `database` as the path, the form `SPANSIFT_CLICKHOUSE_URL` takes. */
  url(database?: string): string
}

export interface ChdbHttpServerOptions {
  /** The engine's data directory; the process owns it (chdb binds one per process). */
  dataDir: string
  host: string
  /** 0 picks a free port. */
  port: number
  logger?: Logger
  /** Largest request body, after decompression; past it the answer is 413. Default 256 MiB. */
  maxBodyBytes?: number
}

const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
/** The server's HTTP default when neither the query nor `default_format` names one. */
const DEFAULT_FORMAT = 'TabSeparated'

/**
 * URL parameters the real server reads itself rather than as settings. Credentials and
 * roles are accepted and ignored: the engine has no access control to apply them to.
 * `wait_end_of_query` is what every answer here does anyway (results are buffered).
 */
const IGNORED_PARAMS = new Set([
  'user',
  'password',
  'quota_key',
  'role',
  'stacktrace',
  'buffer_size',
  'wait_end_of_query',
  'client_protocol_version',
  'session_timeout',
  'session_check',
  'close_session',
  // HTTP-transport settings with nothing to do when the whole answer is sent at once.
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
])

/** Settings names the engine could see; anything else is refused before it becomes SQL. */
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The parts of the native addon used here (see `loadNative`). */
interface NativeQueryResult {
  bytes: Buffer
  elapsed: number
  rowsRead: number
  bytesRead: number
}
interface NativeInsertResult {
  elapsed: number
  rowsWritten: number
  bytesWritten: number
}
interface ChdbNative {
  QueryAsyncConnection(
    connection: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeQueryResult>
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<NativeInsertResult>
}

/**
 * chdb's public API re-escapes string parameters (`queryBindAsync`) and only inserts
 * into validated table names, but an HTTP server receives parameters already in the
 * engine's escaped text form (`it\'s`) and inserts as arbitrary `INSERT … FORMAT X`
 * statements. Its native calls take both verbatim, so they are used directly, on the
 * connection of a public `Session`.
 */
function loadNative(): ChdbNative {
  const require = createRequire(import.meta.url)
  const root = dirname(require.resolve('chdb/package.json'))
  return (require(join(root, 'dist', 'loader.js')) as { loadNative(): ChdbNative }).loadNative()
}

/** An error answered in the server's shape: `Code: N. DB::Exception: … (NAME)`. */
class ServerError extends Error {
  readonly code: number
  readonly codeName: string

  constructor(code: number, codeName: string, message: string) {
    super(`Code: ${code}. DB::Exception: ${message}. (${codeName})`)
    this.code = code
    this.codeName = codeName
  }
}

interface ParsedRequest {
  /** The `query` URL parameter; the body is then the data. */
  urlQuery: string | undefined
  queryId: string
  database: string | undefined
  defaultFormat: string
  queryParams: Record<string, string>
  settings: [string, string][]
  compressResponse: boolean
  compressionLevel: number | undefined
}

/** Creates the server; `start()` binds the data directory and the port. */
export function createChdbHttpServer(options: ChdbHttpServerOptions): ChdbHttpServer {
  const logger = (options.logger ?? silentLogger).child({ component: 'chdb-http-server' })
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const engineVersion = version().libchdb.replaceAll('"', '')
  let native: ChdbNative | undefined
  let timezone = 'UTC'
  let anchor: Session | undefined
  let server: Server | undefined
  let stopping = false
  const inFlight = new Set<Promise<void>>()
  const runningQueryIds = new Set<string>()
  // Parameterized queries run one at a time: the engine's parameter state is not
  // isolated between connections under concurrency (chdb serializes them the same way).
  let parameterizedTail: Promise<unknown> = Promise.resolve()

  function oneParameterizedAtATime<T>(run: () => Promise<T>): Promise<T> {
    const result = parameterizedTail.then(run)
    parameterizedTail = result.catch(() => undefined)
    return result
  }

  function parseRequest(url: URL, request: IncomingMessage): ParsedRequest {
    const parsed: ParsedRequest = {
      urlQuery: undefined,
      queryId: randomUUID(),
      database: undefined,
      defaultFormat: DEFAULT_FORMAT,
      queryParams: {},
      settings: [],
      compressResponse: false,
      compressionLevel: undefined,
    }
    for (const [key, value] of url.searchParams) {
      if (key.startsWith('param_')) parsed.queryParams[key.slice('param_'.length)] = value
      else if (key === 'query') parsed.urlQuery = value
      else if (key === 'query_id') parsed.queryId = value || parsed.queryId
      else if (key === 'database') parsed.database = value || undefined
      else if (key === 'default_format') parsed.defaultFormat = value
      else if (key === 'enable_http_compression') parsed.compressResponse = value === '1' || value === 'true'
      else if (key === 'http_zlib_compression_level') parsed.compressionLevel = Number(value)
      else if (key === 'session_id') {
        throw new ServerError(48, 'NOT_IMPLEMENTED', 'HTTP sessions (session_id) are not supported')
      } else if ((key === 'compress' || key === 'decompress') && value === '1') {
        throw new ServerError(48, 'NOT_IMPLEMENTED', 'ClickHouse native compression is not supported')
      } else if (!IGNORED_PARAMS.has(key)) {
        if (!SETTING_NAME.test(key)) throw new ServerError(115, 'UNKNOWN_SETTING', `Unknown setting '${key}'`)
        parsed.settings.push([key, value])
      }
    }
    if (request.headers['content-type']?.startsWith('multipart/form-data')) {
      throw new ServerError(48, 'NOT_IMPLEMENTED', 'multipart/form-data requests are not supported')
    }
    return parsed
  }

  /** Runs one request's statement on a connection of its own, so settings and `USE` never leak between requests. */
  async function execute(
    engine: ChdbNative,
    parsed: ParsedRequest,
    statement: string,
    data: Buffer | undefined,
  ): Promise<{ body: Buffer; summary: Record<string, string> }> {
    const session = new Session(options.dataDir)
    try {
      const connection = session.connection
      if (parsed.settings.length > 0) {
        const assignments = parsed.settings.map(([name, value]) => `${name} = ${quoteString(value)}`)
        await engine.QueryAsyncConnection(connection, `SET ${assignments.join(', ')}`, DEFAULT_FORMAT)
      }
      if (parsed.database) {
        await engine.QueryAsyncConnection(
          connection,
          `USE ${quoteIdentifier(parsed.database)}`,
          DEFAULT_FORMAT,
        )
      }
      const hasParams = Object.keys(parsed.queryParams).length > 0
      // Insert data goes to the engine as bytes (binary formats survive) unless
      // parameters have to be bound, which only the query path does.
      if (data && !hasParams && /^\s*INSERT\b/i.test(statement)) {
        const written = await engine.InsertRawAsyncConnection(connection, statement, data, false)
        return {
          body: Buffer.alloc(0),
          summary: summary({
            written_rows: written.rowsWritten,
            written_bytes: written.bytesWritten,
            elapsed: written.elapsed,
          }),
        }
      }
      const sql = data ? `${statement}\n${data.toString('utf8')}` : statement
      const run = () => engine.QueryAsyncConnection(connection, sql, parsed.defaultFormat, parsed.queryParams)
      const result = await (hasParams ? oneParameterizedAtATime(run) : run())
      return {
        body: result.bytes,
        summary: summary({
          read_rows: result.rowsRead,
          read_bytes: result.bytesRead,
          result_bytes: result.bytes.length,
          elapsed: result.elapsed,
        }),
      }
    } finally {
      // Every native call above has settled: closing never lands mid-query.
      session.close()
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (stopping) {
      response.setHeader('Connection', 'close')
      throw new ServerError(236, 'ABORTED', 'Server is shutting down')
    }
    if (url.pathname === '/ping' || (url.pathname === '/' && request.method === 'GET' && !url.search)) {
      await drain(request)
      response.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n')
      return
    }
    if (url.pathname !== '/') {
      await drain(request)
      response
        .writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' })
        .end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`)
      return
    }
    if (request.method !== 'GET' && request.method !== 'POST') {
      throw new ServerError(1, 'UNSUPPORTED_METHOD', `HTTP method ${request.method} is not supported`)
    }
    const parsed = parseRequest(url, request)
    const body = await readBody(request, maxBodyBytes)
    let statement: string
    let data: Buffer | undefined
    if (parsed.urlQuery !== undefined) {
      statement = parsed.urlQuery
      data = body.length > 0 ? body : undefined
    } else {
      statement = body.toString('utf8')
    }
    if (statement.trim() === '') throw new ServerError(62, 'SYNTAX_ERROR', 'Empty query')
    if (runningQueryIds.has(parsed.queryId)) {
      throw new ServerError(
        216,
        'QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING',
        `Query with id = ${parsed.queryId} is already running`,
      )
    }
    const engine = native
    if (!engine) throw new ServerError(236, 'ABORTED', 'Server is not started')
    runningQueryIds.add(parsed.queryId)
    let result: Awaited<ReturnType<typeof execute>>
    try {
      result = await execute(engine, parsed, statement, data)
    } finally {
      runningQueryIds.delete(parsed.queryId)
    }
    const format = outputFormat(statement, parsed.defaultFormat)
    const headers: Record<string, string> = {
      'Content-Type': contentType(format),
      'X-ClickHouse-Query-Id': parsed.queryId,
      'X-ClickHouse-Format': format,
      'X-ClickHouse-Timezone': timezone,
      'X-ClickHouse-Summary': JSON.stringify(result.summary),
    }
    let payload = result.body
    const encoding = parsed.compressResponse ? chooseEncoding(request.headers['accept-encoding']) : undefined
    if (encoding && payload.length > 0) {
      payload = await compress(encoding, payload, parsed.compressionLevel)
      headers['Content-Encoding'] = encoding
    }
    headers['Content-Length'] = String(payload.length)
    response.writeHead(200, headers).end(payload)
  }

  function answerError(response: ServerResponse, error: unknown): void {
    const { status, code, text } = describeError(error, engineVersion)
    if (response.headersSent) {
      // Nothing left to tell the client but that the answer is broken.
      response.destroy()
      return
    }
    if (status === 413) response.setHeader('Connection', 'close')
    response
      .writeHead(status, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Exception-Code': String(code),
        'Content-Length': String(Buffer.byteLength(text)),
      })
      .end(text)
  }

  function onRequest(request: IncomingMessage, response: ServerResponse): void {
    const done = handle(request, response)
      .catch((error: unknown) => {
        if (!(error instanceof ServerError) && !isEngineError(error)) {
          logger.error('request failed', { error })
        } else {
          logger.debug('query failed', { error })
        }
        answerError(response, error)
      })
      .finally(() => inFlight.delete(done))
    inFlight.add(done)
  }

  return {
    async start() {
      if (server) return
      native = loadNative()
      // Holds the data directory (and the engine) for the server's lifetime; requests
      // open and close their own connections beside it.
      anchor = new Session(options.dataDir)
      const probe = await native.QueryAsyncConnection(anchor.connection, 'SELECT timezone()', DEFAULT_FORMAT)
      timezone = probe.bytes.toString('utf8').trim()
      // Query parameters travel in the URL: accept URLs as long as ClickHouse's own
      // http_max_uri_size (1 MiB), not Node's 16 KiB header default.
      const http = createServer({ maxHeaderSize: 1024 * 1024 }, onRequest)
      // Longer than the client's idle-socket TTL (2.5 s), as the real server's 10 s is.
      http.keepAliveTimeout = 10_000
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(options.port, options.host, () => {
          http.off('error', reject)
          resolve()
        })
      })
      server = http
      stopping = false
      logger.info('chdb http server listening', { url: this.url(), data_dir: options.dataDir })
    },

    async shutdown() {
      const http = server
      if (!http) return
      stopping = true
      const closed = new Promise<void>((resolve) => http.close(() => resolve()))
      http.closeIdleConnections()
      // Queries cannot be interrupted, and the engine must outlive every one of them.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
      http.closeAllConnections()
      await closed
      server = undefined
      anchor?.close()
      anchor = undefined
      logger.info('chdb http server stopped')
    },

    port() {
      const address = server?.address() as AddressInfo | null | undefined
      if (!address) throw new Error('chdb http server is not listening')
      return address.port
    },

    url(database?: string) {
      const host =
        options.host === '0.0.0.0' || options.host === '::'
          ? '127.0.0.1'
          : options.host.includes(':')
            ? `[${options.host}]`
            : options.host
      return `http://${host}:${this.port()}/${database ?? ''}`
    },
  }
}

function summary(values: {
  read_rows?: number
  read_bytes?: number
  written_rows?: number
  written_bytes?: number
  result_bytes?: number
  elapsed: number
}): Record<string, string> {
  // The server's keys, all strings; the engine does not report result rows.
  return {
    read_rows: String(values.read_rows ?? 0),
    read_bytes: String(values.read_bytes ?? 0),
    written_rows: String(values.written_rows ?? 0),
    written_bytes: String(values.written_bytes ?? 0),
    total_rows_to_read: '0',
    result_rows: '0',
    result_bytes: String(values.result_bytes ?? 0),
    elapsed_ns: String(Math.max(0, Math.round(values.elapsed * 1e9))),
  }
}

/** A ClickHouse string literal; settings arrive as text and the engine converts them, as the server does. */
function quoteString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``
}

/** The format the answer is in: a trailing `FORMAT X` clause wins over the default. */
function outputFormat(statement: string, defaultFormat: string): string {
  if (/^\s*INSERT\b/i.test(statement)) return defaultFormat
  return /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(statement)?.[1] ?? defaultFormat
}

function contentType(format: string): string {
  if (/^(JSON|JSONCompact|JSONStrings|JSONColumns)$/i.test(format)) return 'application/json; charset=UTF-8'
  if (/^JSON/i.test(format)) return 'application/x-ndjson; charset=UTF-8'
  if (/^(TSV|TabSeparated)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8'
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8'
  if (/^(Parquet|Arrow|ArrowStream|ORC|Avro|Native|RowBinary|Protobuf|MsgPack)/i.test(format)) {
    return 'application/octet-stream'
  }
  return 'text/plain; charset=UTF-8'
}

type Encoding = 'gzip' | 'deflate' | 'br' | 'zstd'
const ENCODINGS: readonly Encoding[] = ['gzip', 'deflate', 'br', 'zstd']

/** The first encoding the client lists that the server speaks, as the server picks. */
function chooseEncoding(header: string | undefined): Encoding | undefined {
  for (const token of (header ?? '').split(',')) {
    const name = token.split(';')[0]!.trim().toLowerCase()
    if ((ENCODINGS as readonly string[]).includes(name)) return name as Encoding
  }
  return undefined
}

const gzip = promisify(zlib.gzip)
const deflate = promisify(zlib.deflate)
const brotli = promisify(zlib.brotliCompress)
const zstd = promisify(zlib.zstdCompress)

function compress(encoding: Encoding, payload: Buffer, level: number | undefined): Promise<Buffer> {
  // The server's default zlib level is 3: fast, and results are mostly text.
  const zlibLevel = level !== undefined && level >= 1 && level <= 9 ? level : 3
  switch (encoding) {
    case 'gzip':
      return gzip(payload, { level: zlibLevel })
    case 'deflate':
      return deflate(payload, { level: zlibLevel })
    case 'br':
      return brotli(payload, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    case 'zstd':
      return zstd(payload)
  }
}

function decompressor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    case 'zstd':
      return zlib.createZstdDecompress()
    default:
      return undefined
  }
}

function tooLarge(limit: number): ServerError {
  return new ServerError(229, 'QUERY_IS_TOO_LARGE', `Request body is larger than ${limit} bytes`)
}

/**
 * Reads the body, inflating it per `Content-Encoding`, and stops as soon as either
 * the received or the inflated size passes `limit`, so a compression bomb is cut off
 * after one chunk rather than inflated whole.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit))
  const inflate = encoding === 'identity' ? undefined : decompressor(encoding)
  if (encoding !== 'identity' && !inflate) {
    return Promise.reject(new ServerError(36, 'BAD_ARGUMENTS', `Unknown Content-Encoding '${encoding}'`))
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let received = 0
    let settled = false
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      request.unpipe()
      inflate?.destroy()
      reject(error)
    }
    const collect = (chunk: Buffer) => {
      if (settled) return
      size += chunk.length
      if (size > limit) return fail(tooLarge(limit))
      chunks.push(chunk)
    }
    const done = () => {
      if (settled) return
      settled = true
      resolve(Buffer.concat(chunks, size))
    }
    request.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > limit) fail(tooLarge(limit))
    })
    request.on('error', fail)
    request.on('close', () => {
      if (!request.complete)
        fail(new ServerError(3, 'UNEXPECTED_END_OF_FILE', 'The client closed the request'))
    })
    if (inflate) {
      inflate.on('data', collect)
      inflate.on('end', done)
      inflate.on('error', (error) =>
        fail(
          new ServerError(271, 'CANNOT_DECOMPRESS', `Cannot decompress the request body: ${error.message}`),
        ),
      )
      request.pipe(inflate)
    } else {
      request.on('data', collect)
      request.on('end', done)
    }
  })
}

/** Consumes a body nobody reads, so a keep-alive socket stays usable. */
async function drain(request: IncomingMessage): Promise<void> {
  for await (const _ of request);
}

function isEngineError(error: unknown): boolean {
  return error instanceof Error && /^Code: \d+\./.test(error.message)
}

/** The names the server answers with something other than 500 (its exception-to-status table). */
const BAD_REQUEST = new Set([
  'SYNTAX_ERROR',
  'INCORRECT_DATA',
  'TYPE_MISMATCH',
  'BAD_ARGUMENTS',
  'BAD_QUERY_PARAMETER',
  'UNKNOWN_QUERY_PARAMETER',
  'DUPLICATE_COLUMN',
  'ILLEGAL_COLUMN',
  'THERE_IS_NO_COLUMN',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  'CANNOT_DECOMPRESS',
  'UNKNOWN_ELEMENT_IN_AST',
  'UNKNOWN_TYPE_OF_AST_NODE',
  'TOO_DEEP_AST',
  'TOO_BIG_AST',
  'UNEXPECTED_AST_STRUCTURE',
])

function statusFor(name: string): number {
  if (BAD_REQUEST.has(name) || name.startsWith('CANNOT_PARSE_')) return 400
  if (name.startsWith('UNKNOWN_')) return 404
  if (name === 'QUERY_IS_TOO_LARGE') return 413
  if (name === 'NOT_IMPLEMENTED') return 501
  if (name === 'ABORTED') return 503
  return 500
}

function describeError(
  error: unknown,
  engineVersion: string,
): { status: number; code: number; text: string } {
  const message = error instanceof Error ? error.message : String(error)
  const match = /^Code: (\d+)\./.exec(message)
  if (!match) {
    // A failure of this server, not of a query: the server's catch-all code.
    return {
      status: 500,
      code: 1001,
      text: `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION) (version ${engineVersion})\n`,
    }
  }
  // The innermost (last) name is the one the client reads, as with nested exceptions from the server.
  const names = [...message.matchAll(/\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)/g)]
  const name = names.at(-1)?.[1] ?? ''
  const text = message.includes('(version ') ? message : `${message} (version ${engineVersion})`
  return { status: statusFor(name), code: Number(match[1]), text: `${text}\n` }
}
