import { CONTENT_EVENT_BODY_KEY, type SpanContentEvent } from '../span-content-event.ts'
import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { hexToBytes } from './hex.ts'
import { emptyLogRecord, type OtlpExportLogsRequest, type OtlpResourceLogs } from './otlp-logs-types.ts'
import { EMPTY_BYTES, emptyScope } from './otlp-types.ts'
import { toAnyValue, toKeyValues } from './spans-to-request.ts'

/**
 * Turns content events back into an OTLP logs request, the form they travel the
 * `spansift.logs` topic in (the Collector's `otlp_proto` encoding for logs): one
 * ResourceLogs per application, stamped with `spansift.application.id`; each event a log
 * record with its name in `event_name` and its `body` attribute as the body.
 * `normalizeExportLogsRequest` of the result gives the events back.
 */
export function contentEventsToExportRequest(events: readonly SpanContentEvent[]): OtlpExportLogsRequest {
  const byApplication = new Map<string, OtlpResourceLogs>()
  for (const event of events) {
    let resourceLogs = byApplication.get(event.applicationId)
    if (resourceLogs === undefined) {
      resourceLogs = {
        resource: {
          attributes: [
            { key: APPLICATION_ID_ATTRIBUTE, value: { type: 'string', value: event.applicationId } },
          ],
          droppedAttributesCount: 0,
          entityRefs: [],
        },
        scopeLogs: [{ scope: emptyScope(), logRecords: [], schemaUrl: '' }],
        schemaUrl: '',
      }
      byApplication.set(event.applicationId, resourceLogs)
    }
    const { [CONTENT_EVENT_BODY_KEY]: body, ...attributes } = event.attributes
    resourceLogs.scopeLogs[0]!.logRecords.push({
      ...emptyLogRecord(),
      timeUnixNano: event.timeUnixNano,
      body: body === undefined ? { type: 'empty', value: null } : toAnyValue(body),
      attributes: toKeyValues(attributes),
      traceId: hexToBytes(event.traceId) ?? EMPTY_BYTES,
      spanId: hexToBytes(event.spanId) ?? EMPTY_BYTES,
      eventName: event.name,
    })
  }
  return { resourceLogs: [...byApplication.values()] }
}
