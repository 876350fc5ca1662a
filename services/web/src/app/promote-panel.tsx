import { useEffect, useState } from 'preact/hooks'
import { api, errorText, session } from './api.ts'
import type { SpanJson } from './explore-page.tsx'
import { ErrorBox, useAsync, useFocus } from './ui.tsx'

export interface DatasetJson {
  id: string
  name: string
  kind: 'eval' | 'training'
  application_id: string
  exclude_dataset_id: string | null
  row_count: number
  columns: Array<{ name: string; bucket: string }>
  feedback_categories: string[]
  versions: Array<{
    id: number
    number: number
    status: string
    row_count: number
    published_at: string | null
  }>
}

type Bucket = 'inputs' | 'expected_outputs' | 'metadata' | 'extras'
interface MappingRow {
  bucket: Bucket
  key: string
  path: string
}

/** The default mapping: the aliases, which resolve whichever convention a span uses. */
const DEFAULT_MAPPING: MappingRow[] = [
  { bucket: 'inputs', key: 'input', path: 'input' },
  { bucket: 'expected_outputs', key: 'output', path: 'output' },
  { bucket: 'metadata', key: 'model', path: 'model' },
]

function toMapping(rows: MappingRow[]) {
  const mapping: Record<string, Record<string, string>> = {}
  for (const r of rows) {
    if (!r.key || !r.path) continue
    mapping[r.bucket] = { ...(mapping[r.bucket] ?? {}), [r.key]: r.path }
  }
  return mapping
}

/**
 * Promote spans to a dataset: pick or create one, set the mapping (a live preview shows
 * the first rows as the server maps them), then add: a selection through from-spans,
 * "all matching" through the backfill engine with its progress.
 */
export function PromotePanel(props: {
  spans: SpanJson[]
  allMatching: boolean
  predicate: Record<string, unknown> | undefined
  range: { start_time: string; end_time: string }
  onClose: () => void
}) {
  const applicationId = session.applicationId()!
  const datasets = useAsync(
    () => api<{ datasets: DatasetJson[] }>('GET', `/v1/datasets?application_id=${applicationId}&limit=1000`),
    [],
  )
  const [datasetId, setDatasetId] = useState('')
  const [newName, setNewName] = useState('')
  const [newKind, setNewKind] = useState<'eval' | 'training'>('eval')
  const [mapping, setMapping] = useState<MappingRow[]>(DEFAULT_MAPPING)
  const [preview, setPreview] = useState<unknown[]>()
  const [previewError, setPreviewError] = useState<string>()
  const [error, setError] = useState<string>()
  const [result, setResult] = useState<string>()
  const [progress, setProgress] = useState<{ done: number; total: number; state: string }>()
  const [busy, setBusy] = useState(false)
  const heading = useFocus<HTMLHeadingElement>(true)
  const resultRef = useFocus<HTMLParagraphElement>(result)

  // The live preview: the server maps the first spans exactly as it will store them.
  useEffect(() => {
    const timer = setTimeout(async () => {
      try {
        const refs = new Set(props.spans.map((s) => `${s.trace_id}:${s.span_id}`))
        const answer = await api<{ spans: SpanJson[]; rows: unknown[] }>('POST', '/v1/spans/search', {
          application_id: applicationId,
          ...props.range,
          predicate: props.allMatching
            ? props.predicate
            : {
                any: props.spans.slice(0, 3).map((s) => ({
                  all: [
                    { field: 'trace.id', equals: s.trace_id },
                    { field: 'span.id', equals: s.span_id },
                  ],
                })),
              },
          limit: 3,
          mapping: toMapping(mapping),
        })
        setPreview(
          answer.rows.filter(
            (_, i) =>
              props.allMatching || refs.has(`${answer.spans[i]?.trace_id}:${answer.spans[i]?.span_id}`),
          ),
        )
        setPreviewError(undefined)
      } catch (err) {
        setPreviewError(errorText(err))
      }
    }, 250)
    return () => clearTimeout(timer)
  }, [mapping, props.spans, props.allMatching, props.predicate, props.range, applicationId])

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setResult(undefined)
    try {
      let target = datasetId
      if (target === '__new__') {
        const created = await api<DatasetJson>('POST', '/v1/datasets', {
          name: newName,
          kind: newKind,
          application_id: applicationId,
        })
        target = created.id
        setDatasetId(created.id)
        datasets.reload()
      }
      if (props.allMatching) {
        let job = await api('POST', `/v1/datasets/${target}/items/from-search`, {
          ...props.range,
          predicate: props.predicate,
          mapping: toMapping(mapping),
        })
        // Poll the backfill until it ends (bounded: a backfill over a few months ends in minutes).
        for (let i = 0; i < 600 && job.state === 'running'; i++) {
          setProgress({ done: job.progress.done, total: job.progress.total, state: job.state })
          await new Promise((r) => setTimeout(r, 500))
          job = await api('GET', `/v1/rules/backfills/${job.backfill_id}`)
        }
        setProgress({ done: job.progress.done, total: job.progress.total, state: job.state })
        if (job.state === 'failed') throw new Error(job.error)
        setResult(
          `Added ${job.added} rows (${job.already_present} already there${job.dropped_for_cap ? `, ${job.dropped_for_cap} left out: the dataset is full` : ''}).`,
        )
      } else {
        const answer = await api('POST', `/v3/evals/datasets/${target}/items/from-spans`, {
          application_id: applicationId,
          ...props.range,
          spans: props.spans.map((s) => ({ trace_id: s.trace_id, span_id: s.span_id })),
          mapping: toMapping(mapping),
        })
        const d = answer.data
        setResult(
          [
            `Added ${d.added} of ${props.spans.length} spans.`,
            d.excluded
              ? `${d.excluded} left out: they are in the eval dataset this training dataset excludes.`
              : '',
            ...d.warnings,
          ]
            .filter(Boolean)
            .join(' '),
        )
      }
      datasets.reload()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const setRow = (i: number, change: Partial<MappingRow>) =>
    setMapping(mapping.map((r, j) => (j === i ? { ...r, ...change } : r)))

  return (
    <section class="panel" aria-labelledby="promote-title">
      <h2 id="promote-title" tabIndex={-1} ref={heading}>
        Add {props.allMatching ? 'all spans matching the filter' : `${props.spans.length} spans`} to a dataset
      </h2>
      <form onSubmit={submit}>
        <div class="field">
          <label for="p-dataset">Dataset</label>
          <select
            id="p-dataset"
            required
            value={datasetId}
            onChange={(e) => setDatasetId((e.target as HTMLSelectElement).value)}
          >
            <option value="" disabled>
              {datasets.loading ? 'Loading…' : 'Choose a dataset'}
            </option>
            {datasets.data?.datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.kind}, {d.row_count} rows)
              </option>
            ))}
            <option value="__new__">New dataset…</option>
          </select>
        </div>
        {datasetId === '__new__' && (
          <fieldset>
            <legend>New dataset</legend>
            <div class="field">
              <label for="p-name">Name</label>
              <input
                id="p-name"
                required
                value={newName}
                onInput={(e) => setNewName((e.target as HTMLInputElement).value)}
              />
            </div>
            <div class="field">
              <label for="p-kind">Kind</label>
              <select
                id="p-kind"
                value={newKind}
                onChange={(e) => setNewKind((e.target as HTMLSelectElement).value as 'eval')}
              >
                <option value="eval">eval</option>
                <option value="training">training</option>
              </select>
            </div>
          </fieldset>
        )}
        <fieldset>
          <legend>Mapping</legend>
          <table class="mapping">
            <thead>
              <tr>
                <th scope="col">Bucket</th>
                <th scope="col">Field</th>
                <th scope="col">Span path</th>
                <th scope="col">
                  <span class="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {mapping.map((r, i) => (
                <tr key={i}>
                  <td>
                    <select
                      aria-label={`Bucket of mapping row ${i + 1}`}
                      value={r.bucket}
                      onChange={(e) => setRow(i, { bucket: (e.target as HTMLSelectElement).value as Bucket })}
                    >
                      <option value="inputs">inputs</option>
                      <option value="expected_outputs">expected_outputs</option>
                      <option value="metadata">metadata</option>
                      <option value="extras">extras</option>
                    </select>
                  </td>
                  <td>
                    <input
                      aria-label={`Field of mapping row ${i + 1}`}
                      value={r.key}
                      onInput={(e) => setRow(i, { key: (e.target as HTMLInputElement).value })}
                    />
                  </td>
                  <td>
                    <input
                      aria-label={`Path of mapping row ${i + 1}`}
                      value={r.path}
                      onInput={(e) => setRow(i, { path: (e.target as HTMLInputElement).value })}
                    />
                  </td>
                  <td>
                    <button
                      type="button"
                      class="link"
                      aria-label={`Remove mapping row ${i + 1}`}
                      onClick={() => setMapping(mapping.filter((_, j) => j !== i))}
                    >
                      ✕
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            type="button"
            class="link"
            onClick={() => setMapping([...mapping, { bucket: 'metadata', key: '', path: '' }])}
          >
            Add a field
          </button>
        </fieldset>
        <section aria-labelledby="preview-title" class="preview-rows">
          <h3 id="preview-title">Preview: the first rows as they will be stored</h3>
          <ErrorBox message={previewError} />
          <pre aria-live="polite">{preview ? JSON.stringify(preview, null, 2) : 'Loading…'}</pre>
        </section>
        <div class="actions">
          <button type="submit" disabled={busy || !datasetId}>
            {busy ? 'Adding…' : 'Add'}
          </button>
          <button type="button" class="secondary" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
      {progress && (
        <p>
          <label for="p-progress">Backfill {progress.state}</label>{' '}
          <progress id="p-progress" max={Math.max(progress.total, 1)} value={progress.done} /> {progress.done}{' '}
          / {progress.total}
        </p>
      )}
      <ErrorBox message={error} />
      {result && (
        <p class="success" role="status" tabIndex={-1} ref={resultRef}>
          {result}
        </p>
      )}
    </section>
  )
}
