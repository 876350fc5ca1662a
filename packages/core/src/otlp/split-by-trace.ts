import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { bytesToHex } from './hex.ts'
import type {
  OtlpExportTraceRequest,
  OtlpKeyValue,
  OtlpResource,
  OtlpResourceSpans,
  OtlpScopeSpans,
} from './otlp-types.ts'

/** One trace's share of a request. */
export interface TraceRequest {
  /** The trace id as lowercase hex ('' when the spans carried none). */
  traceId: string
  /** The trace's spans, under their original resources and scopes. */
  request: OtlpExportTraceRequest
}

/**
 * Splits a request into one request per trace id, so each trace can travel the bus as one
 * message keyed by its id. Spans keep their resource and scope; traces come out in order of
 * first appearance, spans in their original order. Every resource is stamped with the string
 * attribute `spansift.application.id` = `applicationId`, replacing any the client sent, so the
 * consumers know the owner without trusting the client.
 *
 * Ids are not validated here (normalization rejects bad ones): spans with a malformed trace id
 * simply form a group of their own. The output shares span, scope and stamped-resource objects
 * with each other and with the input; treat them as immutable.
 */
export function splitByTrace(request: OtlpExportTraceRequest, applicationId: string): TraceRequest[] {
  const byTrace = new Map<string, Group>()
  const groups: Group[] = []
  for (const resourceSpans of request.resourceSpans) {
    const resource = stampResource(resourceSpans.resource, applicationId)
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        const traceId = bytesToHex(span.traceId)
        let group = byTrace.get(traceId)
        if (group === undefined) {
          group = {
            traceId,
            resourceSpans: [],
            lastSource: undefined,
            lastResource: undefined,
            lastScopeSource: undefined,
            lastScope: undefined,
          }
          byTrace.set(traceId, group)
          groups.push(group)
        }
        // Spans are visited resource by resource, scope by scope, so a group only has to
        // compare with the resource and scope it appended to last.
        if (group.lastSource !== resourceSpans) {
          group.lastSource = resourceSpans
          group.lastResource = { resource, scopeSpans: [], schemaUrl: resourceSpans.schemaUrl }
          group.resourceSpans.push(group.lastResource)
          group.lastScopeSource = undefined
        }
        if (group.lastScopeSource !== scopeSpans || group.lastScope === undefined) {
          group.lastScopeSource = scopeSpans
          group.lastScope = { scope: scopeSpans.scope, spans: [], schemaUrl: scopeSpans.schemaUrl }
          group.lastResource!.scopeSpans.push(group.lastScope)
        }
        group.lastScope.spans.push(span)
      }
    }
  }
  return groups.map((group) => ({ traceId: group.traceId, request: { resourceSpans: group.resourceSpans } }))
}

interface Group {
  traceId: string
  resourceSpans: OtlpResourceSpans[]
  /** The input ResourceSpans that `lastResource` was made from. */
  lastSource: OtlpResourceSpans | undefined
  lastResource: OtlpResourceSpans | undefined
  /** The input ScopeSpans that `lastScope` was made from. */
  lastScopeSource: OtlpScopeSpans | undefined
  lastScope: OtlpScopeSpans | undefined
}

/** A copy of `resource` whose attributes carry the application stamp (and no other). */
function stampResource(resource: OtlpResource, applicationId: string): OtlpResource {
  const attributes: OtlpKeyValue[] = []
  for (const attribute of resource.attributes) {
    if (attribute.key !== APPLICATION_ID_ATTRIBUTE) attributes.push(attribute)
  }
  attributes.push({ key: APPLICATION_ID_ATTRIBUTE, value: { type: 'string', value: applicationId } })
  return {
    attributes,
    droppedAttributesCount: resource.droppedAttributesCount,
    entityRefs: resource.entityRefs,
  }
}
