import { useState } from 'preact/hooks'
import { api, download, errorText, session } from './api.ts'
import { parseCategories } from './categories.ts'
import { fieldText } from './conversation.ts'
import type { DatasetJson } from './promote-panel.tsx'
import { ErrorBox, formatTime, Loading, Page, useAsync } from './ui.tsx'

export interface ItemJson {
  item_id: string
  inputs: Record<string, unknown>
  expected_outputs: Record<string, unknown>
  metadata: Record<string, unknown>
  source: { kind: string; trace_id: string; span_id: string; span_start_time: string; rule_id?: string }
  annotation: string | null
  annotation_status: 'empty' | 'filled'
  feedback_category: string | null
  expected_output: string | null
  priority: 'high' | 'medium' | 'low' | null
  labels: string[]
  created_at: string
}

/** A bucket (or a value) as one short line: `field: text`, messages shown as their text. */
const cell = (value: unknown) => {
  const text =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value)
          .map(([key, v]) => `${key}: ${fieldText(v)}`)
          .join('; ')
      : fieldText(value)
  const line = text.replace(/\s+/g, ' ')
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}

/** Datasets of the application: the list, and creating one (eval, or training excluding an eval). */
export function DatasetsPage() {
  const applicationId = session.applicationId()
  const list = useAsync(
    () => api<{ datasets: DatasetJson[] }>('GET', `/v1/datasets?application_id=${applicationId}&limit=1000`),
    [],
  )
  const [name, setName] = useState('')
  const [kind, setKind] = useState<'eval' | 'training'>('eval')
  const [exclude, setExclude] = useState('')
  const [categories, setCategories] = useState('')
  const [error, setError] = useState<string>()
  const evals = list.data?.datasets.filter((d) => d.kind === 'eval') ?? []

  const create = async (e: Event) => {
    e.preventDefault()
    setError(undefined)
    try {
      await api('POST', '/v1/datasets', {
        name,
        kind,
        application_id: applicationId,
        ...(kind === 'training' && exclude ? { exclude_dataset_id: exclude } : {}),
        feedback_categories: parseCategories(categories),
      })
      setName('')
      setCategories('')
      list.reload()
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <Page title="Datasets">
      <ErrorBox message={list.error} />
      {list.loading && !list.data && <Loading />}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Datasets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Rows</th>
              <th scope="col">Versions</th>
              <th scope="col">Review</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.datasets.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={`#/datasets/${d.id}`}>{d.name}</a>
                </td>
                <td>
                  {d.kind}
                  {d.exclude_dataset_id ? ' (excludes an eval dataset)' : ''}
                </td>
                <td class="num">{d.row_count}</td>
                <td>{d.versions.map((v) => `v${v.number} ${v.status}`).join(', ') || '—'}</td>
                <td>
                  <a href={`#/review/${d.id}`}>Review queue</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="panel" onSubmit={create} aria-labelledby="create-title">
        <h2 id="create-title">Create a dataset</h2>
        <div class="field">
          <label for="d-name">Name</label>
          <input
            id="d-name"
            required
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="d-kind">Kind</label>
          <select
            id="d-kind"
            value={kind}
            onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'eval')}
          >
            <option value="eval">eval (at most 10,000 rows)</option>
            <option value="training">training (at most 1,000,000 rows)</option>
          </select>
        </div>
        {kind === 'training' && (
          <div class="field">
            <label for="d-exclude">Exclude the rows of</label>
            <select
              id="d-exclude"
              value={exclude}
              onChange={(e) => setExclude((e.target as HTMLSelectElement).value)}
            >
              <option value="">No eval dataset</option>
              {evals.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="d-categories">Feedback categories (comma-separated; empty: any)</label>
          <input
            id="d-categories"
            value={categories}
            onInput={(e) => setCategories((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit">Create</button>
        <ErrorBox message={error} />
      </form>
    </Page>
  )
}

const FORMATS = [
  ['jsonl', 'JSONL'],
  ['csv', 'CSV'],
  ['parquet', 'Parquet'],
  ['chat-jsonl', 'Chat fine-tuning JSONL'],
] as const

/** One dataset: its rows with the API's filters, its versions with publish, and exports. */
export function DatasetPage({ datasetId }: { datasetId: string }) {
  const dataset = useAsync(() => api<DatasetJson>('GET', `/v1/datasets/${datasetId}`), [datasetId])
  const [filters, setFilters] = useState({
    annotation_status: '',
    feedback_category: '',
    priority: '',
    rule_id: '',
    version: '',
  })
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== '')).toString()
  const items = useAsync(
    () =>
      api<{ items: ItemJson[]; next_cursor: string | null }>(
        'GET',
        `/v1/datasets/${datasetId}/items?limit=100&${query}`,
      ),
    [datasetId, query],
  )
  const [more, setMore] = useState<{ forQuery: string; items: ItemJson[]; cursor: string | null }>()
  const [error, setError] = useState<string>()
  const [status, setStatus] = useState<string>()
  const d = dataset.data
  const extra = more?.forQuery === query ? more : undefined
  const rows = [...(items.data?.items ?? []), ...(extra?.items ?? [])]
  const cursor = extra ? extra.cursor : (items.data?.next_cursor ?? null)
  const loadMore = async () => {
    if (!cursor) return
    try {
      const page = await api<{ items: ItemJson[]; next_cursor: string | null }>(
        'GET',
        `/v1/datasets/${datasetId}/items?limit=100&${query}&cursor=${encodeURIComponent(cursor)}`,
      )
      setMore({ forQuery: query, items: [...(extra?.items ?? []), ...page.items], cursor: page.next_cursor })
    } catch (err) {
      setError(errorText(err))
    }
  }

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined)
    setStatus(undefined)
    try {
      await what()
      setStatus(done)
    } catch (err) {
      setError(errorText(err))
    }
  }
  const filter = (name: keyof typeof filters, label: string, options?: string[]) => (
    <div class="field">
      <label for={`r-${name}`}>{label}</label>
      {options ? (
        <select
          id={`r-${name}`}
          value={filters[name]}
          onChange={(e) => setFilters({ ...filters, [name]: (e.target as HTMLSelectElement).value })}
        >
          <option value="">Any</option>
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={`r-${name}`}
          value={filters[name]}
          onChange={(e) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })}
        />
      )}
    </div>
  )

  return (
    <Page
      title={d ? `Dataset ${d.name}` : 'Dataset'}
      actions={<a href={`#/review/${datasetId}`}>Open the review queue</a>}
    >
      <ErrorBox message={dataset.error ?? error} />
      {status && (
        <p class="success" role="status">
          {status}
        </p>
      )}
      {d && (
        <>
          <p class="muted">
            {d.kind} · {d.row_count} rows · columns:{' '}
            {d.columns.map((c) => `${c.bucket}.${c.name}`).join(', ') || 'none yet'}
          </p>
          <section aria-labelledby="versions-title">
            <h2 id="versions-title">Versions</h2>
            <ul class="versions">
              {d.versions.map((v) => (
                <li key={v.id}>
                  v{v.number} · {v.status} · {v.row_count} rows
                  {v.published_at ? ` · published ${formatTime(v.published_at)}` : ''}
                  {v.status === 'draft' && (
                    <button
                      type="button"
                      onClick={() =>
                        act(
                          () => api('POST', `/v1/datasets/${datasetId}/publish`).then(dataset.reload),
                          `Published v${v.number}.`,
                        )
                      }
                    >
                      Publish v{v.number}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="export-title">
            <h2 id="export-title">Export</h2>
            <div class="actions">
              {FORMATS.filter(([f]) => f !== 'chat-jsonl' || d.kind === 'training').map(([format, label]) => (
                <button
                  key={format}
                  type="button"
                  class="secondary"
                  onClick={() =>
                    act(
                      () =>
                        download(`/v1/datasets/${datasetId}/export?format=${format}`, `dataset.${format}`),
                      `Downloaded ${label}.`,
                    )
                  }
                >
                  Download {label}
                </button>
              ))}
            </div>
          </section>
        </>
      )}
      <section aria-labelledby="rows-title">
        <h2 id="rows-title">Rows</h2>
        <form class="filters" aria-label="Row filters" onSubmit={(e) => e.preventDefault()}>
          {filter('annotation_status', 'Annotation status', ['empty', 'filled'])}
          {filter('feedback_category', 'Feedback category')}
          {filter('priority', 'Priority', ['high', 'medium', 'low'])}
          {filter('rule_id', 'Rule')}
          {filter(
            'version',
            'Version',
            d?.versions.map((v) => String(v.number)),
          )}
        </form>
        <ErrorBox message={items.error} />
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Rows</caption>
            <thead>
              <tr>
                <th scope="col">Added</th>
                <th scope="col">Inputs</th>
                <th scope="col">Expected outputs</th>
                <th scope="col">Status</th>
                <th scope="col">Category</th>
                <th scope="col">Priority</th>
                <th scope="col">Annotation</th>
              </tr>
            </thead>
            <tbody aria-busy={items.loading}>
              {rows.map((item) => (
                <tr key={item.item_id}>
                  <td>{formatTime(item.created_at)}</td>
                  <td>{cell(item.inputs)}</td>
                  <td>{cell(item.expected_output ?? item.expected_outputs)}</td>
                  <td>{item.annotation_status}</td>
                  <td>{item.feedback_category ?? ''}</td>
                  <td>{item.priority ?? ''}</td>
                  <td>{item.annotation ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {items.loading && <Loading />}
        {items.data?.items.length === 0 && <p class="muted">No rows match.</p>}
        {cursor && (
          <button type="button" class="secondary" onClick={loadMore}>
            Load more rows
          </button>
        )}
      </section>
    </Page>
  )
}
