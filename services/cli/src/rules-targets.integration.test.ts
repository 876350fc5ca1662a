import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { ADMIN_KEY, type RunningSpansift, startSpansift } from './test-harness.ts'

// A rule's target is checked again while it runs: no file change is needed for a rule to
// start once its dataset exists, or to stop once it is deleted (embedded pipeline; the
// registry re-checks every 5 s).

let s: RunningSpansift | undefined
const rulesDir = mkdtempSync(join(tmpdir(), 'spansift-rule-targets-'))
after(async () => {
  await s?.stop()
  rmSync(rulesDir, { recursive: true, force: true })
})

async function ruleState(id: string): Promise<{ state: string; error: string | null }> {
  const listing = await s!.api('GET', '/v1/rules', ADMIN_KEY)
  const rule = listing.body.rules.find((r: { id: string }) => r.id === id)
  return { state: rule?.state, error: rule?.error }
}

async function waitForState(id: string, state: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now()
  while ((await ruleState(id)).state !== state) {
    if (Date.now() - started > timeoutMs) assert.fail(`rule ${id} never became ${state}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return Date.now() - started
}

test('a rule in error for a missing dataset becomes active once the dataset exists, and errs once it is deleted', async (t) => {
  s = await startSpansift({ SPANSIFT_RULES_DIR: rulesDir })
  const app = await s.createApplication('rule-targets')
  const created = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
    name: 'later',
    application_id: app.id,
    kind: 'eval',
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const datasetId: string = created.body.id
  const datasets = s.spansift.storage().datasets
  const dataset = (await datasets.get(datasetId))!
  // Gone before the rule file loads: the rule starts in error.
  assert.equal((await s.api('DELETE', `/v1/datasets/${datasetId}`, ADMIN_KEY)).status, 204)
  writeFileSync(
    join(rulesDir, 'later.yaml'),
    `rules:
  - id: later
    application: ${app.id}
    dataset: ${datasetId}
    when: { field: span.name, equals: chat }
    mapping: { inputs: { name: span.name } }
`,
  )
  assert.equal(await s.spansift.rules().reload(), true)
  assert.deepEqual(await ruleState('later'), { state: 'error', error: `no dataset ${datasetId}` })

  // The dataset comes (back) with the id the rule names; no file changes.
  await datasets.save(dataset, new Date().toISOString())
  const activeAfter = await waitForState('later', 'active')
  assert.equal(s.spansift.rules().forApplication(app.id).length, 1)

  assert.equal((await s.api('DELETE', `/v1/datasets/${datasetId}`, ADMIN_KEY)).status, 204)
  const errorAfter = await waitForState('later', 'error')
  assert.equal(s.spansift.rules().forApplication(app.id).length, 0)
  t.diagnostic(
    `active ${activeAfter} ms after the dataset appeared; error ${errorAfter} ms after it was deleted`,
  )
})
