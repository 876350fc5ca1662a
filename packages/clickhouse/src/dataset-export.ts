import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
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
  ',"span_start_time":', toJSONString(formatDateTime(span_start_time, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')),
  ',"rule_id":', ${nullable('rule_id')}, '}',
  ',"annotation":', ${nullable('annotation')},
  ',"annotation_status":', toJSONString(toString(annotation_status)),
  ',"feedback_category":', ${nullable('toString(feedback_category)')},
  ',"expected_output":', ${nullable('expected_output')},
  ',"priority":', ${nullable('toString(priority)')},
  ',"labels":', toJSONString(labels),
  ',"redacted_fields":', toJSONString(redacted_fields),
  ',"created_at":', toJSONString(formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')),
  '}') AS line`

/** Flat columns for CSV and Parquet; buckets stay JSON text. */
const FLAT_COLUMNS = `toString(item_id) AS item_id, inputs, expected_outputs, metadata, extras,
  toString(source_kind) AS source_kind, toString(application_id) AS application_id, trace_id, span_id,
  span_start_time, rule_id, annotation, toString(annotation_status) AS annotation_status,
  toString(feedback_category) AS feedback_category, expected_output, toString(priority) AS priority, labels, redacted_fields, created_at`

/** Streams dataset exports with the client's raw `exec`, the one streaming path; parameters only. */
export function createDatasetExporter(options: {
  client: ClickHouseClient
  database: string
}): DatasetExporter {
  const { datasetItems } = tableNames(options.database)
  return {
    async export(datasetId, versionId, format) {
      const select = format === 'jsonl' ? JSONL_LINE : FLAT_COLUMNS
      const clickhouseFormat = { jsonl: 'TabSeparatedRaw', csv: 'CSVWithNames', parquet: 'Parquet' }[format]
      const result = await options.client.exec({
        query: `SELECT ${select} FROM ${datasetItems} FINAL
          WHERE dataset_id = {dataset_id:UUID} AND version_id = {version_id:UInt64}
          ORDER BY created_at, item_id
          FORMAT ${clickhouseFormat}`,
        query_params: { dataset_id: datasetId, version_id: versionId },
        clickhouse_settings: { log_comment: `spansift:dataset-export.${format}` },
      })
      return Readable.toWeb(result.stream) as ReadableStream<Uint8Array>
    },
  }
}
