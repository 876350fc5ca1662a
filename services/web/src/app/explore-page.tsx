import { useEffect, useState } from 'preact/hooks'
import { api, errorText, rangeOf, session } from './api.ts'
import { previewOf } from './conversation.ts'
import { PromotePanel } from './promote-panel.tsx'
import { ErrorBox, formatDurationNs, formatTime, Loading, Page } from './ui.tsx'

export interface SpanJson {
  trace_id: string
  span_id: string
  parent_span_id: string | null
  name: string
  start_time: string
  end_time: string
  duration_ns: string
  status: { code: string; message: string }
  service_name: string
  attributes: Record<string, unknown>
  resource_attributes: Record<string, unknown>
  events: Array<{ time: string; name: string; attributes: Record<string, unknown> }>
}

export interface Filters {
  hours: number
  service: string
  model: string
  status: string
  minDurationMs: string
  name: string
  predicate: string
}

const EMPTY: Filters = {
  hours: 24,
  service: '',
  model: '',
  status: '',
  minDurationMs: '',
  name: '',
  predicate: '',
}

/** The filter bar as one predicate of the rule language (what the search and the promotion take). */
export function predicateOf(filters: Filters): Record<string, unknown> | undefined {
  const all: Array<Record<string, unknown>> = []
  if (filters.service) all.push({ field: 'service.name', equals: filters.service })
  if (filters.model) all.push({ field: 'model', equals: filters.model })
  if (filters.status) all.push({ field: 'span.status', equals: filters.status })
  if (filters.minDurationMs) all.push({ field: 'span.duration_ms', gte: Number(filters.minDurationMs) })
  if (filters.name) all.push({ field: 'span.name', contains: filters.name })
  if (filters.predicate.trim()) all.push(JSON.parse(filters.predicate))
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : { all }
}

const modelOf = (span: SpanJson) => {
  const a = span.attributes
  const model = a['gen_ai.request.model'] ?? a['gen_ai.response.model'] ?? a['llm.model_name'] ?? a.model
  return model === undefined ? '' : String(model)
}

/** Explore: search spans with a filter bar, page through them, open a trace, promote a selection. */
export function ExplorePage() {
  const [draft, setDraft] = useState<Filters>(EMPTY)
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const [range, setRange] = useState(() => rangeOf(EMPTY.hours))
  const [spans, setSpans] = useState<SpanJson[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<string>()
  const [selected, setSelected] = useState<Set<string>>(new Set())
  const [allMatching, setAllMatching] = useState(false)
  const [promoting, setPromoting] = useState(false)

  const search = async (f: Filters, after?: string) => {
    setLoading(true)
    setError(undefined)
    try {
      const r = after ? range : rangeOf(f.hours)
      const page = await api<{ spans: SpanJson[]; next_cursor: string | null }>('POST', '/v1/spans/search', {
        application_id: session.applicationId(),
        ...r,
        predicate: predicateOf(f),
        limit: 50,
        ...(after ? { cursor: after } : {}),
      })
      setRange(r)
      setSpans((old) => (after ? [...old, ...page.spans] : page.spans))
      setCursor(page.next_cursor)
      if (!after) {
        setSelected(new Set())
        setAllMatching(false)
      }
    } catch (err) {
      setError(err instanceof SyntaxError ? `Predicate is not valid JSON: ${err.message}` : errorText(err))
    } finally {
      setLoading(false)
    }
  }

  useEffect(() => {
    void search(EMPTY)
  }, [])

  const field = (name: keyof Filters, label: string, props: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`f-${name}`}>{label}</label>
      <input
        id={`f-${name}`}
        value={String(draft[name])}
        onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
        {...props}
      />
    </div>
  )
  const keyOf = (s: SpanJson) => `${s.trace_id}:${s.span_id}`
  const toggle = (s: SpanJson) => {
    const next = new Set(selected)
    if (next.has(keyOf(s))) next.delete(keyOf(s))
    else next.add(keyOf(s))
    setSelected(next)
  }
  const chosen = spans.filter((s) => selected.has(keyOf(s)))

  return (
    <Page title="Explore spans">
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault()
          setFilters(draft)
          void search(draft)
        }}
      >
        <div class="field">
          <label for="f-hours">Time range</label>
          <select
            id="f-hours"
            value={draft.hours}
            onChange={(e) => setDraft({ ...draft, hours: Number((e.target as HTMLSelectElement).value) })}
          >
            <option value={1}>Last hour</option>
            <option value={24}>Last 24 hours</option>
            <option value={168}>Last 7 days</option>
            <option value={720}>Last 30 days</option>
          </select>
        </div>
        {field('service', 'Service')}
        {field('model', 'Model')}
        <div class="field">
          <label for="f-status">Status</label>
          <select
            id="f-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value })}
          >
            <option value="">Any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
            <option value="unset">unset</option>
          </select>
        </div>
        {field('minDurationMs', 'Min duration (ms)', { type: 'number', min: 0, inputMode: 'numeric' })}
        {field('name', 'Name contains')}
        <div class="field wide">
          <label for="f-predicate">Predicate (rule language, JSON)</label>
          <input
            id="f-predicate"
            placeholder='{"field": "input", "contains": "refund"}'
            value={draft.predicate}
            onInput={(e) => setDraft({ ...draft, predicate: (e.target as HTMLInputElement).value })}
          />
        </div>
        <button type="submit" disabled={loading}>
          Search
        </button>
      </form>
      <ErrorBox message={error} />
      <div class="toolbar" role="toolbar" aria-label="Selection">
        <span aria-live="polite">
          {allMatching ? 'All spans matching the filter' : `${chosen.length} selected`} · {spans.length} shown
          {cursor ? ' (more)' : ''}
        </span>
        <label class="inline">
          <input
            type="checkbox"
            checked={allMatching}
            onChange={(e) => setAllMatching((e.target as HTMLInputElement).checked)}
          />
          All matching the filter
        </label>
        <button
          type="button"
          disabled={!allMatching && chosen.length === 0}
          onClick={() => setPromoting(true)}
        >
          Add to dataset…
        </button>
      </div>
      {promoting && (
        <PromotePanel
          spans={allMatching ? spans.slice(0, 3) : chosen}
          allMatching={allMatching}
          predicate={predicateOf(filters)}
          range={range}
          onClose={() => setPromoting(false)}
        />
      )}
      <div class="table-wrap">
        <table class="results">
          <caption class="sr-only">Spans, newest first</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="sr-only">Select</span>
              </th>
              <th scope="col">Time</th>
              <th scope="col">Name</th>
              <th scope="col">Model</th>
              <th scope="col">Duration</th>
              <th scope="col">Status</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
            </tr>
          </thead>
          <tbody>
            {spans.map((s) => (
              <tr key={keyOf(s)} class={selected.has(keyOf(s)) ? 'selected' : ''}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${s.name} ${s.span_id}`}
                    checked={allMatching || selected.has(keyOf(s))}
                    disabled={allMatching}
                    onChange={() => toggle(s)}
                  />
                </td>
                <td>
                  <time dateTime={s.start_time}>{formatTime(s.start_time)}</time>
                </td>
                <td>
                  <a
                    href={`#/trace/${s.trace_id}?span=${s.span_id}&start=${encodeURIComponent(range.start_time)}&end=${encodeURIComponent(range.end_time)}`}
                  >
                    {s.name}
                  </a>
                </td>
                <td>{modelOf(s)}</td>
                <td class="num">{formatDurationNs(s.duration_ns)}</td>
                <td>
                  <span class={`status status-${s.status.code}`}>{s.status.code}</span>
                </td>
                <td class="preview">{previewOf(s, 'input')}</td>
                <td class="preview">{previewOf(s, 'output')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loading && <Loading label="Searching…" />}
      {!loading && spans.length === 0 && !error && <p class="muted">No span matches in this time range.</p>}
      {cursor && !loading && (
        <button type="button" onClick={() => search(filters, cursor)}>
          Load more
        </button>
      )}
    </Page>
  )
}
