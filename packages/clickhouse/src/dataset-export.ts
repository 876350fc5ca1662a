import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
import { rfc3339Sql } from './dataset-time.ts'
import { tableNames } from './tables.ts'

/** The export formats ClickHouse writes itself. */
export const NativeExportFormat = { jsonl: 'jsonl', csv: 'csv', parquet: 'parquet' } as const
export type NativeExportFormat = (typeof NativeExportFormat)[keyof typeof NativeExportFormat]

export interface DatasetExporter {
  /**
   * Streams one version's rows (item_id order) in a format, written by ClickHouse and
   * passed through untouched: nothing is held in memory on our side. The embedded
   * engine materialises the result before handing it over; a server streams it.
   */
  export(
    datasetId: string,
    versionId: number,
    format: NativeExportFormat,
  ): Promise<ReadableStream<Uint8Array>>
}

const nullable = (column: string) => `if(${column} = '', 'null', toJSONString(${column}))`

/** JSONL with the bucket columns as nested JSON (they are stored as JSON text), one item a line. */
const JSONL_LINE = `concat(
  '{"item_id":', toJSONString(toString(item_id)),
  ',"inputs":', inputs, ',"expected_outputs":', expected_outputs, ',"metadata":', metadata, ',"extras":', extras,
  ',"source":{"kind":', toJSONString(toString(source_kind)),
  ',"application_id":', toJSONString(toString(application_id)),
  ',"trace_id":', toJSONString(trace_id), ',"span_id":', toJSONString(span_id),
  ',"span_start_time":', toJSONString(${rfc3339Sql('span_start_time')}),
  ',"rule_id":', ${nullable('rule_id')}, '}',
  ',"annotation":', ${nullable('annotation')},
  ',"annotation_status":', toJSONString(toString(annotation_status)),
  ',"feedback_category":', ${nullable('toString(feedback_category)')},
  ',"expected_output":', ${nullable('expected_output')},
  ',"priority":', ${nullable('toString(priority)')},
  ',"labels":', toJSONString(labels),
  ',"redacted_fields":', toJSONString(redacted_fields),
  ',"created_at":', toJSONString(${rfc3339Sql('created_at')}),
  '}') AS line`

/**
 * CSV: one cell a column, structured cells JSON-encoded (the buckets as JSON objects, the
 * labels and redacted fields as JSON arrays, never ClickHouse's array syntax); a null is
 * an empty cell; times are RFC 3339 as in the API (span start with 9 fractional digits, created_at 3).
 */
const CSV_COLUMNS = `toString(item_id) AS item_id, inputs, expected_outputs, metadata, extras,
  toString(source_kind) AS source_kind, toString(application_id) AS application_id, trace_id, span_id,
  ${rfc3339Sql('span_start_time')} AS span_start_time, rule_id, annotation,
  toString(annotation_status) AS annotation_status, toString(feedback_category) AS feedback_category, expected_output,
  toString(priority) AS priority, toJSONString(labels) AS labels, toJSONString(redacted_fields) AS redacted_fields,
  ${rfc3339Sql('created_at')} AS created_at`

/** A bucket (a JSON object) as a map of field key to the value's JSON text. */
const bucketMap = (column: string) =>
  `CAST(mapFromArrays(arrayMap(kv -> kv.1, JSONExtractKeysAndValuesRaw(${column})), arrayMap(kv -> kv.2, JSONExtractKeysAndValuesRaw(${column}))), 'Map(String, String)') AS ${column}`

/** The message model's list (genai/message-model.ts) as a typed Parquet list of structs; arguments and results stay JSON text. */
const MESSAGES_TYPE = `Array(Tuple(role String, name Nullable(String), parts Array(Tuple(type String,
  content Nullable(String), id Nullable(String), name Nullable(String), arguments Nullable(String),
  result Nullable(String), modality Nullable(String), mime_type Nullable(String), url Nullable(String),
  path Nullable(String), data Nullable(String))), finish_reason Nullable(String)))`

/** The first field of a bucket holding a message list (objects with `parts`), typed; [] without one. */
const messagesColumn = (bucket: string, name: string) =>
  `JSONExtract(arrayFirst(kv -> JSONHas(kv.2, 1, 'parts'), JSONExtractKeysAndValuesRaw(${bucket})).2, '${MESSAGES_TYPE.replace(/\s+/g, ' ')}') AS ${name}`

/**
 * Parquet: typed, nullable columns. `source` is a struct, `labels` and `redacted_fields`
 * lists of strings, times typed timestamps (UTC; `source.span_start_time` in nanoseconds,
 * `created_at` in milliseconds), absent reviewer fields null. The buckets are maps of
 * field key to the value's JSON text: a field's value may be text in one row and a message
 * list in the next, a shape Parquet's fixed schema cannot hold, so JSON text is the one
 * fallback (parse it with any JSON reader). `input_messages` / `output_messages` type the
 * conversation: the first inputs (expected outputs) field holding a message list, as a list
 * of `{role, name, parts: [{type, content, id, name, arguments, result, modality, mime_type,
 * url, path, data}], finish_reason}` structs (arguments and results as JSON text), [] when no
 * field holds one.
 */
const PARQUET_COLUMNS = `toString(item_id) AS item_id,
  ${bucketMap('inputs')}, ${bucketMap('expected_outputs')}, ${bucketMap('metadata')}, ${bucketMap('extras')},
  CAST(tuple(toString(source_kind), toString(application_id), trace_id, span_id, span_start_time, nullIf(rule_id, '')),
    'Tuple(kind String, application_id String, trace_id String, span_id String, span_start_time DateTime64(9, \\'UTC\\'), rule_id Nullable(String))') AS source,
  nullIf(annotation, '') AS annotation, toString(annotation_status) AS annotation_status,
  nullIf(toString(feedback_category), '') AS feedback_category, nullIf(expected_output, '') AS expected_output,
  nullIf(toString(priority), '') AS priority, labels, redacted_fields, created_at,
  ${messagesColumn('inputs', 'input_messages')}, ${messagesColumn('expected_outputs', 'output_messages')}`

/** Streams dataset exports with the client's raw `exec`, the one streaming path; parameters only. */
export function createDatasetExporter(options: {
  client: ClickHouseClient
  database: string
}): DatasetExporter {
  const { datasetItems } = tableNames(options.database)
  return {
    async export(datasetId, versionId, format) {
      const select = { jsonl: JSONL_LINE, csv: CSV_COLUMNS, parquet: PARQUET_COLUMNS }[format]
      const clickhouseFormat = { jsonl: 'TabSeparatedRaw', csv: 'CSVWithNames', parquet: 'Parquet' }[format]
      const result = await options.client.exec({
        query: `SELECT ${select} FROM ${datasetItems} FINAL
          WHERE dataset_id = {dataset_id:UUID} AND version_id = {version_id:UInt64}
          ORDER BY created_at, item_id
          FORMAT ${clickhouseFormat}`,
        query_params: { dataset_id: datasetId, version_id: versionId },
        // Columns named like the stored ones (`inputs`) are computed from them: the stored column wins inside expressions.
        clickhouse_settings: {
          log_comment: `spansift:dataset-export.${format}`,
          prefer_column_name_to_alias: 1,
        },
      })
      return Readable.toWeb(result.stream) as ReadableStream<Uint8Array>
    },
  }
}
