import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from './api.ts'

/** Loading, error and data of one async read; `reload` runs it again. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ loading: boolean; error?: string; data?: T }>({ loading: true })
  const run = useCallback(() => {
    setState((s) => ({ ...s, loading: true, error: undefined }))
    load().then(
      (data) => setState({ loading: false, data }),
      (error) => setState({ loading: false, error: errorText(error) }),
    )
  }, deps)
  useEffect(run, [run])
  return { ...state, reload: run }
}

/** A polite live region for loading states (screen readers hear it; it keeps its space). */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      {label}
    </p>
  )
}

/** An error in words, announced. */
export function ErrorBox({ message }: { message: string | undefined }) {
  if (!message) return null
  return (
    <p class="error" role="alert">
      {message}
    </p>
  )
}

/** Moves focus to the element when `when` changes: focus follows the work. */
export function useFocus<T extends HTMLElement>(when: unknown) {
  const ref = useRef<T>(null)
  useEffect(() => {
    ref.current?.focus()
  }, [when])
  return ref
}

export function Page({
  title,
  children,
  actions,
}: {
  title: string
  children: ComponentChildren
  actions?: ComponentChildren
}) {
  const heading = useFocus<HTMLHeadingElement>(title)
  useEffect(() => {
    document.title = `${title} · spansift`
  }, [title])
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions}
      </header>
      {children}
    </section>
  )
}

export const formatTime = (iso: string) => iso.replace('T', ' ').slice(0, 19)
export const formatDurationNs = (ns: string) => {
  const ms = Number(ns) / 1e6
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`
}
