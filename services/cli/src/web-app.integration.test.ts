import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CONVERSATION, loadCapture } from '@spansift/core/genai/test-genai-captures'
import { type Browser, chromium, type Page } from 'playwright-core'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// The review workbench end to end: Debian's chromium (installed by .ci/run) driven by
// playwright-core against the real server (embedded ClickHouse), through the public API only.
const CHROMIUM = '/usr/bin/chromium'
const SHOTS = join(import.meta.dirname, '..', 'test-output', 'web')

let s: RunningSpansift
const rulesDir = mkdtempSync(join(tmpdir(), 'spansift-web-rules-'))
let browser: Browser
let app: { id: string; key: string }
const traceId = randomHex(16)
const rootId = randomHex(8)
const chatIds = [randomHex(8), randomHex(8)]
const captureTraceId = randomHex(16)
const captureIds: string[] = []

before(async () => {
  mkdirSync(SHOTS, { recursive: true })
  s = await startSpansift({ SPANSIFT_RULES_DIR: rulesDir }, { rulesPollIntervalMs: 100 })
  app = await s.createApplication('support-bot')
  const other = await s.createApplication('other-bot')
  const base = recentSpan({ applicationId: app.id, traceId, spanId: rootId, name: 'agent run' })
  const start = base.startTimeUnixNano
  await s.spansift.storage().spans.insert([
    { ...base, endTimeUnixNano: start + 3_000_000_000n, durationNano: 3_000_000_000n },
    ...chatIds.map((spanId, i) =>
      recentSpan({
        applicationId: app.id,
        traceId,
        spanId,
        parentSpanId: rootId,
        name: 'chat gpt-4o',
        startTimeUnixNano: start + BigInt(i + 1) * 1_000_000_000n,
        endTimeUnixNano: start + BigInt(i + 1) * 1_000_000_000n + 800_000_000n,
        durationNano: 800_000_000n,
        attributes: {
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.input.messages': JSON.stringify([
            { role: 'system', parts: [{ type: 'text', content: 'You are a support agent.' }] },
            {
              role: 'user',
              parts: [
                { type: 'text', content: i === 0 ? 'Where is my refund?' : 'Cancel my order' },
                { type: 'uri', modality: 'image', uri: 'https://example.test/receipt.png' },
              ],
            },
          ]),
          'gen_ai.tool.definitions': JSON.stringify([
            { type: 'function', name: 'lookup_order', description: 'Finds an order by id' },
          ]),
          'gen_ai.output.messages': JSON.stringify([
            {
              role: 'assistant',
              parts: [
                { type: 'tool_call', name: 'lookup_order', arguments: { id: 42 } },
                { type: 'text', content: i === 0 ? 'Your refund is on its way.' : 'Order 42 is cancelled.' },
              ],
            },
          ]),
        },
      }),
    ),
    // Another application's span with the same model: never shown to this one.
    recentSpan({
      applicationId: other.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.request.model': 'gpt-4o' },
    }),
  ])
  // Two calls a real instrumentation made (opentelemetry-instrumentation-openai-v2, content
  // sent as log events, attached to their spans): the first with its system message, the
  // last with the tool call and its result. Moved into one recent trace of this application.
  const captured = loadCapture('openai-v2-events-legacy', app.id)
  const [plain, tool] = [captured[0]!, captured.at(-1)!]
  const shift = start + 5_000_000_000n - plain.startTimeUnixNano
  for (const [i, span] of [plain, tool].entries()) {
    captureIds.push(span.spanId)
    await s.spansift.storage().spans.insert([
      {
        ...span,
        traceId: captureTraceId,
        parentSpanId: '',
        startTimeUnixNano: start + BigInt(i) * 1_000_000_000n,
        endTimeUnixNano: start + BigInt(i) * 1_000_000_000n + span.durationNano,
        events: span.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano + shift })),
      },
    ])
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
})

after(async () => {
  await browser?.close()
  await s?.stop()
  rmSync(rulesDir, { recursive: true, force: true })
})

/** A signed-in tab of its own (its own sessionStorage: its own reviewer). */
async function signedIn(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport, acceptDownloads: true })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`))
  await page.goto(`${s.apiUrl}/`)
  await page.getByLabel('API key').fill(app.key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Explore spans' }).waitFor()
  return page
}

/** Runs a search from the filter bar and waits for its answer to be shown. */
async function searchByModel(page: Page, model: string) {
  await page.getByLabel('Model').fill(model)
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/spans/search')),
    page.getByRole('button', { name: 'Search' }).click(),
  ])
  await page.getByText('Searching…').waitFor({ state: 'detached' })
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })

let datasetId = ''

test('nothing shows without a key; a wrong key is refused in words', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.goto(`${s.apiUrl}/#/datasets`)
  await page.getByLabel('API key').waitFor()
  assert.equal(await page.getByRole('navigation').count(), 0)
  await shot(page, '01-sign-in')
  await page.getByLabel('API key').fill('ssk_not-a-key')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').getByText('the API key is not valid').waitFor()
  await page.close()
})

test('the admin key signs in, then picks an application', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.goto(`${s.apiUrl}/`)
  await page.getByLabel('API key').fill(ADMIN_KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByLabel('Application').selectOption(app.id)
  await shot(page, '01b-sign-in-admin')
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.locator('table.results tbody tr').nth(4).waitFor()
  // Its 3 built spans and 2 captured ones; the other application's span stays out.
  assert.equal(await page.locator('table.results tbody tr').count(), 5, 'the chosen application’s spans only')
  await page.close()
})

test('sign in, search spans by model, open the trace: tree, conversation, attributes', async () => {
  const page = await signedIn()
  // Browser-side code as text: this file is type-checked for Node, not the DOM.
  const timing = (await page.evaluate(`(() => {
    const nav = performance.getEntriesByType('navigation')[0]
    const assets = performance.getEntriesByType('resource').filter((r) => r.name.includes('/ui/'))
    return {
      firstRenderMs: performance.getEntriesByName('spansift-first-render')[0]?.startTime,
      bytes: nav.encodedBodySize + assets.reduce((n, r) => n + r.encodedBodySize, 0),
    }
  })()`)) as { firstRenderMs: number | undefined; bytes: number }
  console.log(
    `web app: page weight ${timing.bytes} bytes, first render at ${timing.firstRenderMs?.toFixed(0)} ms`,
  )
  await searchByModel(page, 'gpt-4o')
  const rows = page.locator('table.results tbody tr')
  assert.equal(await rows.count(), 2, 'the two gpt-4o spans of this application, not the other one’s')
  await page.getByText('Your refund is on its way.').waitFor()
  await shot(page, '02-explore')
  await page.getByRole('link', { name: 'chat gpt-4o' }).first().click()
  await page.getByRole('heading', { name: /^Trace / }).waitFor()
  const tree = page.getByRole('list', { name: 'Spans of the trace' })
  await tree.getByRole('button').nth(2).waitFor()
  assert.equal(await tree.getByRole('button').count(), 3)
  const conversation = page.getByRole('list', { name: 'Conversation' })
  await conversation.getByText('tool call: lookup_order').waitFor()
  await conversation.locator('li.role-system').getByText('You are a support agent.').waitFor()
  await conversation
    .locator('li.role-user')
    .getByRole('link', { name: 'image: https://example.test/receipt.png' })
    .waitFor()
  await page.getByText('Tools offered (lookup_order)').waitFor()
  assert.equal(await conversation.getByRole('listitem').count(), 3)
  await page.getByRole('table', { name: 'Span attributes' }).getByText('gen_ai.request.model').waitFor()
  await shot(page, '03-trace')
  await page.context().close()
})

test('a captured span shows its system message, tool call and tool result, read from its content events', async () => {
  const page = await signedIn()
  const range = `start=${encodeURIComponent(new Date(Date.now() - 3 * 3_600_000).toISOString())}&end=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`
  await page.goto(`${s.apiUrl}/#/trace/${captureTraceId}?span=${captureIds[0]}&${range}`)
  const conversation = page.getByRole('list', { name: 'Conversation' })
  const system = conversation.locator('li.role-system')
  await system.getByText(CONVERSATION.system).waitFor()
  assert.equal(await system.locator('.role').textContent(), 'system')
  await conversation.locator('li.role-user').getByText(CONVERSATION.plain.question).waitFor()
  await conversation.locator('li.role-assistant').getByText(CONVERSATION.plain.answer).waitFor()
  await shot(page, '03b-trace-captured-system')
  await page
    .getByRole('button', { name: /^chat gpt-4o-mini/ })
    .nth(1)
    .click()
  await conversation.getByText('tool call: get_weather').waitFor()
  await conversation.locator('li.role-assistant .tool-call code').getByText('{"city":"Paris"}').waitFor()
  await conversation
    .locator('li.role-tool .tool-result')
    .getByText(/"temperature_c":18/)
    .waitFor()
  await conversation.getByText(CONVERSATION.tool.answer).waitFor()
  assert.equal(await conversation.locator('li.role-system').count(), 0, 'this call sent no system message')
  await shot(page, '03c-trace-captured-tool')
  await page.context().close()
})

test('promote the two spans with a mapping, previewed live, into a new dataset', async () => {
  const page = await signedIn()
  await searchByModel(page, 'gpt-4o')
  for (const id of chatIds) await page.getByLabel(`Select chat gpt-4o ${id}`).check()
  await page.getByRole('button', { name: 'Add to dataset…' }).click()
  await page.getByLabel('Dataset', { exact: true }).selectOption('__new__')
  await page.getByLabel('Name', { exact: true }).fill('refunds eval')
  await page.getByRole('button', { name: 'Add a field' }).click()
  await page.getByLabel('Field of mapping row 4').fill('service')
  await page.getByLabel('Path of mapping row 4').fill('service.name')
  const preview = page.locator('.preview-rows pre')
  await preview.getByText('"service": "support-bot"').waitFor()
  await preview.getByText('Where is my refund?').waitFor()
  await shot(page, '04-promote')
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await page.getByText('Added 2 of 2 spans.').waitFor()
  const datasets = await s.api('GET', `/v1/datasets?application_id=${app.id}`, app.key)
  const dataset = datasets.body.datasets.find((d: { name: string }) => d.name === 'refunds eval')
  assert.equal(dataset.row_count, 2)
  datasetId = dataset.id
  // A mapping yielding a column the dataset lacks is refused, in words.
  await page.getByRole('button', { name: 'Add a field' }).click()
  await page.getByLabel('Bucket of mapping row 5').selectOption('inputs')
  await page.getByLabel('Field of mapping row 5').fill('question')
  await page.getByLabel('Path of mapping row 5').fill('gen_ai.input.messages')
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await page
    .getByRole('alert')
    .getByText(/the dataset has no column for inputs.question/)
    .waitFor()
  await shot(page, '04b-promote-refused')
  await page.getByRole('button', { name: 'Close' }).click()
  const items = await s.api('GET', `/v1/datasets/${datasetId}/items`, app.key)
  assert.deepEqual(
    items.body.items.map((i: { metadata: { service: string; model: string } }) => [
      i.metadata.service,
      i.metadata.model,
    ]),
    [
      ['support-bot', 'gpt-4o'],
      ['support-bot', 'gpt-4o'],
    ],
  )
  await page.context().close()
})

test('promote all spans matching the filter through the backfill engine, with progress', async () => {
  const page = await signedIn()
  await searchByModel(page, 'gpt-4o')
  await page.getByLabel('All matching the filter').check()
  await page.getByRole('button', { name: 'Add to dataset…' }).click()
  await page.getByRole('heading', { name: 'Add all spans matching the filter to a dataset' }).waitFor()
  await page.getByLabel('Dataset', { exact: true }).selectOption('__new__')
  await page.getByLabel('Name', { exact: true }).fill('all gpt-4o')
  await page.locator('.preview-rows pre').getByText('Cancel my order').waitFor()
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await page.getByText('Added 2 rows (0 already there).').waitFor()
  await page.getByText(/Backfill done/).waitFor()
  await shot(page, '04c-promote-all')
  const datasets = await s.api('GET', `/v1/datasets?application_id=${app.id}`, app.key)
  const dataset = datasets.body.datasets.find((d: { name: string }) => d.name === 'all gpt-4o')
  assert.equal(dataset.row_count, 2, 'the other application’s gpt-4o span stays out')
  await page.context().close()
})

test('two reviewers get different rows; one reviews both with the keyboard until the queue is empty', async () => {
  assert.ok(datasetId, 'the promotion test ran')
  const first = await signedIn()
  const second = await signedIn()
  await first.goto(`${s.apiUrl}/#/review/${datasetId}`)
  const firstRow = await first.getByTestId('item-id').textContent()
  await second.goto(`${s.apiUrl}/#/review/${datasetId}`)
  const secondRow = await second.getByTestId('item-id').textContent()
  assert.ok(firstRow && secondRow)
  assert.notEqual(firstRow, secondRow, 'a row is never handed to two reviewers')
  await second.getByText('2 rows left (1 held by other reviewers)').waitFor()
  // The first reviewer gives the dataset its categories; they are the dataset's, so every reviewer sees them.
  await first.getByRole('button', { name: 'Edit categories' }).click()
  await first.getByLabel(/Feedback categories of this dataset/).fill('resolved, wrong date, off-topic')
  await first.getByRole('button', { name: 'Save categories' }).click()
  await first.getByLabel('wrong date').waitFor()
  const shared = await s.api('GET', `/v1/datasets/${datasetId}`, app.key)
  assert.deepEqual(shared.body.feedback_categories, ['resolved', 'wrong date', 'off-topic'])
  await shot(first, '05-review-first')
  await shot(second, '06-review-second')
  // Leaving the review page gives the row back at once: a third reviewer can claim it.
  await Promise.all([
    second.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/queue/claims/')),
    second.goto(`${s.apiUrl}/#/datasets/${datasetId}`),
  ])
  const third = await s.api('POST', `/v1/datasets/${datasetId}/queue/claim`, app.key, { reviewer: 'third' })
  assert.equal(third.body.item?.item_id, secondRow, 'the row the second reviewer left is free')
  await s.api('DELETE', `/v1/datasets/${datasetId}/queue/claims/${third.body.claim.claim_id}`, app.key)
  await second.goto(`${s.apiUrl}/#/review/${datasetId}`)
  await second.getByTestId('item-id').getByText(secondRow).waitFor()
  await second.getByLabel('wrong date').waitFor()
  // The second reviewer skips (j): its claim is released and nothing else is free.
  await second.keyboard.press('j')
  await second.getByText('The queue is empty').waitFor()
  await second.context().close()

  await first.getByRole('list', { name: 'Conversation' }).getByText('tool call: lookup_order').waitFor()
  // The row stores `input`/`output` as message lists: shown as a conversation, not JSON.
  await first
    .getByRole('list', { name: 'Row input input' })
    .locator('li.role-user')
    .getByText(/^(Where is my refund\?|Cancel my order)$/)
    .waitFor()
  await first
    .getByRole('list', { name: 'Row output output' })
    .locator('li.role-assistant')
    .getByText('tool call: lookup_order')
    .waitFor()
  await first.keyboard.press('2')
  assert.equal(await first.getByLabel('wrong date').isChecked(), true)
  await first.keyboard.press('e')
  assert.equal(await first.evaluate('document.activeElement?.id'), 'a-expected')
  await first.keyboard.type(' Within 5 days.')
  await first.keyboard.press('Escape')
  await first.keyboard.press('Enter')
  await first.getByTestId('item-id').getByText(secondRow).waitFor()
  await first.getByText('1 row left').waitFor()
  await first.keyboard.press('?')
  await first.getByRole('dialog', { name: 'Keyboard' }).waitFor()
  await shot(first, '07-review-help')
  await first.keyboard.press('Escape')
  await first.keyboard.press('1')
  await first.keyboard.press('Enter')
  await first.getByText('The queue is empty').waitFor()
  await shot(first, '08-review-done')
  const items = await s.api('GET', `/v1/datasets/${datasetId}/items`, app.key)
  const byId = new Map(items.body.items.map((i: { item_id: string }) => [i.item_id, i]))
  const a = byId.get(firstRow) as {
    annotation_status: string
    feedback_category: string
    expected_output: string
  }
  const b = byId.get(secondRow) as { annotation_status: string; feedback_category: string }
  assert.equal(a.annotation_status, 'filled')
  assert.equal(a.feedback_category, 'wrong date')
  assert.match(a.expected_output, /^(Your refund is on its way\.|Order 42 is cancelled\.) Within 5 days\.$/)
  assert.equal(b.annotation_status, 'filled')
  assert.equal(b.feedback_category, 'resolved')
  await first.context().close()
})

test('dataset page: rows filtered, publish, export downloads the rows', async () => {
  const page = await signedIn()
  await page.goto(`${s.apiUrl}/#/datasets/${datasetId}`)
  await page.getByRole('heading', { name: 'Dataset refunds eval' }).waitFor()
  await page.getByLabel('Annotation status').selectOption('filled')
  await page.locator('table tbody tr').nth(1).waitFor()
  await page.getByRole('button', { name: 'Publish v1' }).click()
  await page.getByText('Published v1.').waitFor()
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download JSONL' }).click(),
  ])
  const lines = readFileSync((await download.path())!, 'utf8')
    .trim()
    .split('\n')
  assert.equal(lines.length, 2)
  assert.ok(lines.every((line) => JSON.parse(line).annotation_status === 'filled'))
  for (const [label, check] of [
    ['CSV', (bytes: Buffer) => bytes.toString('utf8').trim().split('\n').length === 3],
    ['Parquet', (bytes: Buffer) => bytes.subarray(0, 4).toString() === 'PAR1'],
  ] as const) {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download ${label}` }).click(),
    ])
    assert.ok(check(readFileSync((await file.path())!)), `${label} export`)
  }
  await shot(page, '09-dataset')
  await page.goto(`${s.apiUrl}/#/datasets`)
  await page.getByRole('link', { name: 'refunds eval' }).waitFor()
  await shot(page, '10-datasets')
  await page.goto(`${s.apiUrl}/#/rules`)
  await page.getByText('No rule targets this application.').waitFor()
  await page.context().close()
})

test('rules page: each rule with its state, file:line and counts, and a dry run from the page', async () => {
  writeFileSync(
    join(rulesDir, 'refunds.yaml'),
    `rules:\n  - id: gpt4o-chats\n    application: ${app.id}\n    dataset: ${datasetId}\n    when: { field: model, equals: gpt-4o }\n    mapping:\n      inputs: { input: input }\n`,
  )
  const page = await signedIn()
  // Bounded wait for the reload (every 100 ms here) to load the file.
  for (let i = 0; i < 100 && (await s.api('GET', '/v1/rules', app.key)).body.rules.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
  }
  await page.goto(`${s.apiUrl}/#/rules`)
  const row = page.getByRole('row', { name: /gpt4o-chats/ })
  await row.getByText('refunds.yaml:2').waitFor()
  await row.getByText('active').waitFor()
  await page.getByRole('button', { name: 'Dry run gpt4o-chats' }).click()
  await page.getByText('2 spans matched in the last 24 hours.').waitFor()
  await shot(page, '11-rules')
  await page.context().close()
})

test('narrow screen: the explore and dataset pages fit', async () => {
  const page = await signedIn({ width: 390, height: 844 })
  await page.locator('table.results tbody tr').first().waitFor()
  await shot(page, '12-explore-narrow')
  const width = (await page.evaluate('document.documentElement.scrollWidth')) as number
  assert.ok(width <= 390 + 1, `no horizontal scroll of the page (${width}px)`)
  await page.goto(`${s.apiUrl}/#/datasets/${datasetId}`)
  await page.getByRole('heading', { name: 'Dataset refunds eval' }).waitFor()
  await page.locator('table tbody tr').nth(1).waitFor()
  await shot(page, '13-dataset-narrow')
  const datasetWidth = (await page.evaluate('document.documentElement.scrollWidth')) as number
  assert.ok(
    datasetWidth <= 390 + 1,
    `the rows table scrolls inside its box, not the page (${datasetWidth}px)`,
  )
  await page.context().close()
})
