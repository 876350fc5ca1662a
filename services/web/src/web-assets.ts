import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** A file of the web app, served by the API process at its URL path. */
export interface WebAsset {
  body: Uint8Array
  contentType: string
}

const APP_DIR = fileURLToPath(new URL('./app/', import.meta.url))

/**
 * Builds the review workbench in memory when the API starts: esbuild bundles and minifies
 * `app/main.tsx` (Preact) and the stylesheet, so no bundle is committed and none can be
 * stale. Measured on the 2-core CI machine: about 150 ms (see docs/architecture.md). The
 * paths it answers (`/` and `/ui/…`) never overlap `/v1/…` or `/openapi.json`.
 */
export async function buildWebAssets(): Promise<Map<string, WebAsset>> {
  const result = await build({
    entryPoints: [`${APP_DIR}main.tsx`],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: '/ui',
    logLevel: 'silent',
  })
  const assets = new Map<string, WebAsset>()
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1)
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8'
    assets.set(`/ui/${name}`, { body: file.contents, contentType: type })
  }
  const html = await readFile(`${APP_DIR}index.html`)
  assets.set('/', { body: html, contentType: 'text/html; charset=utf-8' })
  return assets
}
