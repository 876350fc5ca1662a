import { Fragment } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, errorText, session } from './api.ts'
import { parseCategories } from './categories.ts'
import { fieldText, messagesIn, outputText } from './conversation.ts'
import { MessageList } from './conversation-view.tsx'
import type { ItemJson } from './datasets-page.tsx'
import type { SpanJson } from './explore-page.tsx'
import type { DatasetJson } from './promote-panel.tsx'
import { SpanDetail } from './trace-page.tsx'
import { ErrorBox, Loading, Page } from './ui.tsx'

interface Claimed {
  item: ItemJson | null
  claim: { claim_id: string; item_id: string; expires_at: string } | null
  remaining: number
  claimed_by_others: number
}

/** The expected output to start editing from: the row's own, else the text of its first expected output. */
const prefill = (item: ItemJson) => {
  if (item.expected_output !== null) return item.expected_output
  const value = Object.values(item.expected_outputs)[0]
  return value === undefined ? '' : outputText(value)
}

/** Releases a claim; `keepalive` lets it finish while the page unloads. A failed release just waits for the lease to end. */
function releaseClaim(datasetId: string, claimId: string) {
  void fetch(`/v1/datasets/${datasetId}/queue/claims/${claimId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.key() ?? ''}` },
    keepalive: true,
  }).catch(() => {})
}

/** A row's bucket: a message list (what the `input`/`output` aliases store) as a conversation, other values as text. */
function RowFields({ bucket, name }: { bucket: Record<string, unknown>; name: string }) {
  return (
    <dl class="row-fields">
      {Object.entries(bucket).map(([key, value]) => {
        const messages = messagesIn(value)
        return (
          <Fragment key={key}>
            <dt>{key}</dt>
            <dd>
              {messages ? <MessageList messages={messages} label={`Row ${name} ${key}`} /> : fieldText(value)}
            </dd>
          </Fragment>
        )
      })}
    </dl>
  )
}

const isTyping = (target: EventTarget | null) =>
  target instanceof HTMLElement &&
  (target.tagName === 'TEXTAREA' ||
    target.tagName === 'SELECT' ||
    (target.tagName === 'INPUT' && (target as HTMLInputElement).type !== 'checkbox'))

/**
 * The review queue, one row at a time: the source span's conversation on the left, the
 * annotation fields on the right. Opening a row claims it (a lease), so two reviewers
 * never get the same row. Keys: j next, k previous, 1–9 category, e expected output,
 * Enter mark filled and next, ? help.
 */
export function ReviewPage({ datasetId }: { datasetId: string }) {
  const [state, setState] = useState<Claimed>()
  const [span, setSpan] = useState<SpanJson | null>()
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<string>()
  const [form, setForm] = useState({
    annotation: '',
    feedback_category: '',
    expected_output: '',
    priority: '',
    labels: '',
  })
  const [history, setHistory] = useState<string[]>([])
  // The dataset's categories, shared by every reviewer; empty: any category (typed freely).
  const [categories, setCategories] = useState<string[]>([])
  /** The categories being edited (comma-separated), or undefined when the editor is closed. */
  const [draft, setDraft] = useState<string>()
  const [help, setHelp] = useState(false)
  // Keys act on what was typed even before the next render: the handlers read this ref.
  const formRef = useRef(form)
  const skipped = useRef<string[]>([])
  const expected = useRef<HTMLTextAreaElement>(null)
  const region = useRef<HTMLElement>(null)
  const helpDialog = useRef<HTMLDialogElement>(null)

  const updateForm = (next: typeof form) => {
    formRef.current = next
    setForm(next)
  }
  const show = (claimed: Claimed) => {
    setState(claimed)
    const item = claimed.item
    updateForm({
      annotation: item?.annotation ?? '',
      feedback_category: item?.feedback_category ?? '',
      expected_output: item ? prefill(item) : '',
      priority: item?.priority ?? '',
      labels: item?.labels.join(', ') ?? '',
    })
    setSpan(undefined)
    // Focus follows the work: the new row's region, so keys act on it at once.
    setTimeout(() => region.current?.focus(), 0)
    if (item) {
      const t = Date.parse(item.source.span_start_time)
      const range = `start_time=${new Date(t - 60_000).toISOString()}&end_time=${new Date(t + 60_000).toISOString()}`
      api<{ spans: SpanJson[] }>(
        'GET',
        `/v1/traces/${item.source.trace_id}?application_id=${session.applicationId()}&${range}`,
      ).then(
        (r) => setSpan(r.spans.find((s) => s.span_id === item.source.span_id) ?? null),
        () => setSpan(null),
      )
    }
  }

  const claim = async (body: Record<string, unknown> = {}) => {
    setLoading(true)
    setError(undefined)
    try {
      const claimed = await api<Claimed>('POST', `/v1/datasets/${datasetId}/queue/claim`, {
        reviewer: session.reviewer(),
        exclude_item_ids: skipped.current.slice(-500),
        ...body,
      })
      show(claimed)
      return claimed
    } catch (err) {
      setError(errorText(err))
      return undefined
    } finally {
      setLoading(false)
    }
  }

  useEffect(() => {
    skipped.current = []
    setHistory([])
    void claim()
    api<DatasetJson>('GET', `/v1/datasets/${datasetId}`).then(
      (d) => setCategories(d.feedback_categories),
      (err) => setError(errorText(err)),
    )
  }, [datasetId])

  /** Changes the dataset's list for every reviewer (PATCH of the dataset). */
  const saveCategories = async (e: Event) => {
    e.preventDefault()
    setError(undefined)
    try {
      const d = await api<DatasetJson>('PATCH', `/v1/datasets/${datasetId}`, {
        feedback_categories: parseCategories(draft ?? ''),
      })
      setCategories(d.feedback_categories)
      setDraft(undefined)
    } catch (err) {
      setError(errorText(err))
    }
  }

  // Closing the tab or leaving the page gives the row back at once, not when the lease ends.
  const heldClaim = state?.claim?.claim_id
  useEffect(() => {
    if (!heldClaim) return
    const onHide = () => releaseClaim(datasetId, heldClaim)
    addEventListener('pagehide', onHide)
    return () => {
      removeEventListener('pagehide', onHide)
      releaseClaim(datasetId, heldClaim)
    }
  }, [datasetId, heldClaim])

  const release = () => {
    if (state?.claim)
      void api('DELETE', `/v1/datasets/${datasetId}/queue/claims/${state.claim.claim_id}`).catch(() => {})
  }
  const next = async () => {
    if (!state?.item) return
    skipped.current.push(state.item.item_id)
    setHistory([...history, state.item.item_id])
    release()
    await claim()
  }
  const previous = async () => {
    const last = history.at(-1)
    if (!last) return
    release()
    setHistory(history.slice(0, -1))
    skipped.current = skipped.current.filter((id) => id !== last)
    await claim({ item_id: last })
  }
  const markFilled = async () => {
    if (!state?.item) return
    setError(undefined)
    const form = formRef.current
    try {
      await api('PATCH', `/v1/datasets/${datasetId}/items/${state.item.item_id}`, {
        annotation: form.annotation || null,
        feedback_category: form.feedback_category || null,
        expected_output: form.expected_output || null,
        priority: form.priority || null,
        labels: form.labels
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean),
        annotation_status: 'filled',
      })
      setHistory([...history, state.item.item_id])
      await claim()
    } catch (err) {
      setError(errorText(err))
    }
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault()
          void markFilled()
        }
        return
      }
      if (e.key === 'Escape' && isTyping(e.target)) {
        ;(e.target as HTMLElement).blur()
        region.current?.focus()
        return
      }
      // The dialog's own state, not the render's: keys pressed right after closing it count.
      if (isTyping(e.target) || helpDialog.current?.open) return
      if (e.target instanceof HTMLButtonElement && e.key === 'Enter') return
      if (e.key === 'j') void next()
      else if (e.key === 'k') void previous()
      else if (e.key === 'e') {
        e.preventDefault()
        expected.current?.focus()
      } else if (e.key === 'Enter') {
        e.preventDefault()
        void markFilled()
      } else if (e.key === '?') setHelp(true)
      else if (/^[1-9]$/.test(e.key)) {
        const category = categories[Number(e.key) - 1]
        if (category) updateForm({ ...formRef.current, feedback_category: category })
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  })

  useEffect(() => {
    if (help) helpDialog.current?.showModal()
    else helpDialog.current?.close()
  }, [help])

  const item = state?.item
  const set = (name: keyof typeof form) => (e: Event) =>
    updateForm({ ...formRef.current, [name]: (e.target as HTMLInputElement).value })

  return (
    <Page
      title="Review queue"
      actions={
        <>
          <p class="progress" role="status" aria-live="polite">
            {state
              ? `${state.remaining} ${state.remaining === 1 ? 'row' : 'rows'} left${state.claimed_by_others ? ` (${state.claimed_by_others} held by other reviewers)` : ''}`
              : ''}
          </p>
          <button type="button" class="secondary" onClick={() => setHelp(true)} aria-keyshortcuts="?">
            Keyboard help
          </button>
        </>
      }
    >
      <ErrorBox message={error} />
      {loading && !state && <Loading label="Claiming the next row…" />}
      {state && !item && (
        <p class="success" role="status">
          The queue is empty: no unclaimed row is left to review.{' '}
          <a href={`#/datasets/${datasetId}`}>Back to the dataset</a>
        </p>
      )}
      {item && (
        <section
          class="review"
          ref={region}
          tabIndex={-1}
          aria-label={`Row ${item.item_id}`}
          aria-busy={loading}
        >
          <div class="review-source">
            <h2>Source span</h2>
            <p class="muted">
              Row <code data-testid="item-id">{item.item_id}</code> · claimed until{' '}
              {state?.claim?.expires_at.slice(11, 19)} UTC
            </p>
            <h3>Row inputs</h3>
            <RowFields bucket={item.inputs} name="input" />
            <h3>Row outputs</h3>
            <RowFields bucket={item.expected_outputs} name="output" />
            {span === undefined && <Loading label="Loading the span…" />}
            {span === null && <p class="muted">The source span is no longer stored (past retention).</p>}
            {span && <SpanDetail span={span} />}
          </div>
          <form
            class="review-fields"
            aria-label="Annotation"
            onSubmit={(e) => {
              e.preventDefault()
              void markFilled()
            }}
          >
            <div class="field">
              <label for="a-annotation">Annotation</label>
              <textarea id="a-annotation" rows={3} value={form.annotation} onInput={set('annotation')} />
            </div>
            <fieldset>
              <legend>
                Feedback category
                {categories.length > 0 && ` (keys 1–${Math.min(categories.length, 9)})`}
              </legend>
              {categories.map((c, i) => (
                <label key={c} class="inline">
                  <input
                    type="radio"
                    name="category"
                    value={c}
                    checked={form.feedback_category === c}
                    onChange={set('feedback_category')}
                  />
                  {i < 9 && <kbd>{i + 1}</kbd>} {c}
                </label>
              ))}
              {categories.length === 0 && (
                <input
                  aria-label="Feedback category"
                  value={form.feedback_category}
                  onInput={set('feedback_category')}
                />
              )}
              <button
                type="button"
                class="secondary"
                onClick={() => setDraft(draft === undefined ? categories.join(', ') : undefined)}
              >
                Edit categories
              </button>
            </fieldset>
            <div class="field">
              <label for="a-expected">Expected output (key e)</label>
              <textarea
                id="a-expected"
                ref={expected}
                rows={5}
                value={form.expected_output}
                onInput={set('expected_output')}
              />
            </div>
            <div class="field">
              <label for="a-priority">Priority</label>
              <select id="a-priority" value={form.priority} onChange={set('priority')}>
                <option value="">None</option>
                <option value="high">high</option>
                <option value="medium">medium</option>
                <option value="low">low</option>
              </select>
            </div>
            <div class="field">
              <label for="a-labels">Labels (comma-separated)</label>
              <input id="a-labels" value={form.labels} onInput={set('labels')} />
            </div>
            <div class="actions">
              <button type="submit" aria-keyshortcuts="Enter">
                Mark filled and next (Enter)
              </button>
              <button
                type="button"
                class="secondary"
                onClick={() => previous()}
                disabled={history.length === 0}
                aria-keyshortcuts="k"
              >
                Previous (k)
              </button>
              <button type="button" class="secondary" onClick={() => next()} aria-keyshortcuts="j">
                Skip (j)
              </button>
            </div>
          </form>
        </section>
      )}
      {draft !== undefined && (
        <form class="panel" aria-label="Feedback categories" onSubmit={saveCategories}>
          <div class="field">
            <label for="a-categories">
              Feedback categories of this dataset, for every reviewer (comma-separated; empty: any)
            </label>
            <input
              id="a-categories"
              value={draft}
              onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            />
          </div>
          <button type="submit">Save categories</button>
        </form>
      )}
      <dialog ref={helpDialog} aria-labelledby="help-title" onClose={() => setHelp(false)}>
        <h2 id="help-title">Keyboard</h2>
        <dl class="keys">
          <dt>j / k</dt>
          <dd>next row (skip) / previous row</dd>
          <dt>1–9</dt>
          <dd>feedback category</dd>
          <dt>e</dt>
          <dd>edit the expected output (Esc leaves the field)</dd>
          <dt>Enter (Ctrl+Enter in a field)</dt>
          <dd>mark the row filled and move to the next</dd>
          <dt>?</dt>
          <dd>this help</dd>
        </dl>
        <button type="button" onClick={() => setHelp(false)}>
          Close
        </button>
      </dialog>
    </Page>
  )
}
