#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping); no build step. The
// version check comes first and the sources are imported dynamically, so an older Node
// reads a message naming the version it needs instead of failing on a `.ts` import.
import { nodeVersionProblem } from './node-version.mjs'

const problem = nodeVersionProblem(process.versions.node)
if (problem) {
  console.error(problem)
  process.exit(1)
}
await import('../src/main.ts')
