import { useState } from 'preact/hooks'
import { api, session } from './api.ts'
import { conversationOf } from './conversation.ts'
import { AttributesTable, ConversationView } from './conversation-view.tsx'
import type { SpanJson } from './explore-page.tsx'
import { ErrorBox, formatDurationNs, Loading, Page, useAsync } from './ui.tsx'

/** Spans in tree order with their depth (children after their parent, by start time). */
export function treeOrder(spans: SpanJson[]): Array<{ span: SpanJson; depth: number }> {
  const ids = new Set(spans.map((s) => s.span_id))
  const children = new Map<string, SpanJson[]>()
  for (const s of spans) {
    const parent = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : ''
    children.set(parent, [...(children.get(parent) ?? []), s])
  }
  const out: Array<{ span: SpanJson; depth: number }> = []
  const walk = (parent: string, depth: number) => {
    const list = (children.get(parent) ?? []).sort((a, b) => a.start_time.localeCompare(b.start_time))
    for (const s of list) {
      out.push({ span: s, depth })
      if (depth < 64) walk(s.span_id, depth + 1)
    }
  }
  walk('', 0)
  return out
}

const nanos = (iso: string) => {
  const [whole = '', frac = ''] = iso.replace('Z', '').split('.')
  return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9) || '0')
}

/** A trace: the span tree with timings, and the selected span's conversation and attributes. */
export function SpanDetail({ span }: { span: SpanJson }) {
  return (
    <div class="span-detail">
      <h3>Conversation</h3>
      <ConversationView content={conversationOf(span)} />
      <AttributesTable attributes={span.attributes} caption="Span attributes" />
      <AttributesTable attributes={span.resource_attributes} caption="Resource attributes" />
    </div>
  )
}

export function TracePage({ traceId, query }: { traceId: string; query: URLSearchParams }) {
  const [selectedId, setSelectedId] = useState(query.get('span') ?? '')
  const range = `start_time=${encodeURIComponent(query.get('start') ?? '')}&end_time=${encodeURIComponent(query.get('end') ?? '')}`
  const state = useAsync(
    () =>
      api<{ spans: SpanJson[] }>(
        'GET',
        `/v1/traces/${traceId}?application_id=${session.applicationId()}&${range}`,
      ).then((r) => r.spans),
    [traceId, range],
  )
  const spans = state.data ?? []
  const rows = treeOrder(spans)
  const start = spans.length ? spans.map((s) => nanos(s.start_time)).reduce((a, b) => (a < b ? a : b)) : 0n
  const end = spans.length ? spans.map((s) => nanos(s.end_time)).reduce((a, b) => (a > b ? a : b)) : 1n
  const total = Number(end - start) || 1
  const selected = spans.find((s) => s.span_id === selectedId) ?? rows[0]?.span
  return (
    <Page title={`Trace ${traceId.slice(0, 12)}…`} actions={<a href="#/explore">Back to search</a>}>
      <ErrorBox message={state.error} />
      {state.loading && <Loading />}
      <div class="trace-layout">
        <ol class="span-tree" aria-label="Spans of the trace">
          {rows.map(({ span, depth }) => {
            const offset = (Number(nanos(span.start_time) - start) / total) * 100
            const width = Math.max((Number(span.duration_ns) / total) * 100, 0.5)
            return (
              <li key={span.span_id}>
                <button
                  type="button"
                  class="span-row"
                  aria-current={selected?.span_id === span.span_id ? 'true' : undefined}
                  style={{ paddingLeft: `${depth * 1.1 + 0.4}rem` }}
                  onClick={() => setSelectedId(span.span_id)}
                >
                  <span class="span-name">{span.name}</span>
                  <span class="timing" aria-hidden="true">
                    <span
                      class={`bar status-${span.status.code}`}
                      style={{ left: `${offset}%`, width: `${width}%` }}
                    />
                  </span>
                  <span class="num">{formatDurationNs(span.duration_ns)}</span>
                </button>
              </li>
            )
          })}
        </ol>
        <section class="detail" aria-label="Selected span">
          {selected && (
            <>
              <h2>{selected.name}</h2>
              <p class="muted">
                {selected.service_name} · span {selected.span_id} · {selected.status.code}
              </p>
              <SpanDetail span={selected} />
            </>
          )}
        </section>
      </div>
    </Page>
  )
}
