import { useState } from 'preact/hooks'
import { api, errorText, rangeOf } from './api.ts'
import { ErrorBox, Loading, Page, useAsync } from './ui.tsx'

interface RuleJson {
  id: string
  description: string
  dataset_id: string
  state: string
  error: string | null
  file: string
  line: number
  matched: number
  appended: number
  dropped_for_cap: number
  stored_rows: number
}

/** Rules in force: state, file:line, counts, and a dry run over the last 24 hours. */
export function RulesPage() {
  const rules = useAsync(
    () => api<{ rules: RuleJson[]; reload: { ok: boolean; errors?: string[] } }>('GET', '/v1/rules'),
    [],
  )
  const [dryRun, setDryRun] = useState<{ id: string; text: string }>()
  const [error, setError] = useState<string>()
  const test = async (id: string) => {
    setError(undefined)
    setDryRun({ id, text: 'Running…' })
    try {
      const result = await api('POST', `/v1/rules/${id}/test`, { ...rangeOf(24), limit: 3 })
      setDryRun({
        id,
        text: `${result.matched} spans matched in the last 24 hours.\n${JSON.stringify(result.samples, null, 2)}`,
      })
    } catch (err) {
      setDryRun(undefined)
      setError(errorText(err))
    }
  }
  return (
    <Page title="Rules">
      <ErrorBox message={rules.error ?? error} />
      {rules.loading && !rules.data && <Loading />}
      {rules.data && !rules.data.reload.ok && (
        <ErrorBox message={`The last reload failed: ${(rules.data.reload.errors ?? []).join('; ')}`} />
      )}
      {rules.data?.rules.length === 0 && <p class="muted">No rule targets this application.</p>}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Rules</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">State</th>
              <th scope="col">File</th>
              <th scope="col">Matched</th>
              <th scope="col">Appended</th>
              <th scope="col">Dropped (cap)</th>
              <th scope="col">Stored rows</th>
              <th scope="col">Dry run</th>
            </tr>
          </thead>
          <tbody>
            {rules.data?.rules.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  {r.id}
                  <div class="muted">{r.description}</div>
                </th>
                <td>
                  {r.state}
                  {r.error ? `: ${r.error}` : ''}
                </td>
                <td>
                  <code>
                    {r.file}:{r.line}
                  </code>
                </td>
                <td class="num">{r.matched}</td>
                <td class="num">{r.appended}</td>
                <td class="num">{r.dropped_for_cap}</td>
                <td class="num">{r.stored_rows}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => test(r.id)}>
                    Dry run {r.id}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {dryRun && (
        <section aria-label={`Dry run of ${dryRun.id}`}>
          <pre role="status">{dryRun.text}</pre>
        </section>
      )}
    </Page>
  )
}
