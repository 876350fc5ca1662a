import './styles.css'
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { session } from './api.ts'
import { DatasetPage, DatasetsPage } from './datasets-page.tsx'
import { ExplorePage } from './explore-page.tsx'
import { ReviewPage } from './review-page.tsx'
import { RulesPage } from './rules-page.tsx'
import { SignIn } from './sign-in.tsx'
import { TracePage } from './trace-page.tsx'

/** The hash route: `#/explore`, `#/trace/<id>?…`, `#/datasets/<id>`, `#/review/<id>`, `#/rules`. */
function useRoute(): { parts: string[]; query: URLSearchParams } {
  const read = () => {
    const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?')
    return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query) }
  }
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const onChange = () => setRoute(read())
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}

const NAV = [
  ['explore', 'Explore'],
  ['datasets', 'Datasets'],
  ['rules', 'Rules'],
] as const

function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null && session.applicationId() !== null)
  const { parts, query } = useRoute()
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />
  const [page = 'explore', id] = parts
  let content = <ExplorePage />
  if (page === 'trace' && id) content = <TracePage traceId={id} query={query} />
  else if (page === 'datasets' && id) content = <DatasetPage datasetId={id} />
  else if (page === 'datasets') content = <DatasetsPage />
  else if (page === 'review' && id) content = <ReviewPage datasetId={id} />
  else if (page === 'rules') content = <RulesPage />
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">spansift</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a
                  href={`#/${path}`}
                  aria-current={
                    page === path || (path === 'datasets' && page === 'review') ? 'page' : undefined
                  }
                >
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" title="application">
          {session.applicationId()}
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            session.signOut()
            setSignedIn(false)
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </>
  )
}

const root = document.getElementById('app')
if (root) {
  root.textContent = ''
  render(<App />, root)
  performance.mark('spansift-first-render')
}
