import { useState } from 'preact/hooks'
import { api, errorText, session } from './api.ts'
import { ErrorBox, useFocus } from './ui.tsx'

interface Application {
  id: string
  name: string
}

/** Sign in with an application key, or with the admin key and then a choice of application. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const [applications, setApplications] = useState<Application[]>()
  const input = useFocus<HTMLInputElement>(true)
  const choose = useFocus<HTMLSelectElement>(applications)

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const principal = await api<{ kind: string; application_id: string | null }>(
        'GET',
        '/v1/principal',
        undefined,
        key,
      )
      if (principal.kind === 'application' && principal.application_id) {
        session.signIn(key, principal.application_id)
        onSignedIn()
        return
      }
      const list = await api<{ applications: Application[] }>(
        'GET',
        '/v1/applications?limit=1000',
        undefined,
        key,
      )
      if (list.applications.length === 0)
        setError('No application exists yet: create one with the CLI or the API first.')
      else setApplications(list.applications)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const pick = (e: Event) => {
    e.preventDefault()
    const id = (new FormData(e.target as HTMLFormElement).get('application') as string) || ''
    session.signIn(key, id)
    onSignedIn()
  }

  return (
    <main class="sign-in" id="main">
      <h1>spansift review workbench</h1>
      {applications ? (
        <form onSubmit={pick}>
          <label for="application">Application</label>
          <select id="application" name="application" ref={choose} required>
            {applications.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.id.slice(0, 8)})
              </option>
            ))}
          </select>
          <button type="submit">Continue</button>
        </form>
      ) : (
        <form onSubmit={submit}>
          <label for="key">API key</label>
          <p class="hint" id="key-hint">
            An application key, or the admin key. It stays in this browser tab only.
          </p>
          <input
            id="key"
            type="password"
            autoComplete="off"
            aria-describedby="key-hint"
            required
            ref={input}
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      )}
      <ErrorBox message={error} />
    </main>
  )
}
