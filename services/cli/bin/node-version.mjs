// Plain JavaScript that any Node can parse: it runs before the TypeScript sources, which
// only Node 24 (type stripping) can load, so an older Node gets one clear line instead of
// ERR_UNKNOWN_FILE_EXTENSION.

/** The oldest Node major spansift runs on (package.json `engines`, `.nvmrc`). */
export const REQUIRED_NODE_MAJOR = 24

/** Why `version` (e.g. process.versions.node) cannot run spansift, or undefined when it can. */
export function nodeVersionProblem(version) {
  const major = Number.parseInt(String(version).split('.')[0], 10)
  if (Number.isInteger(major) && major >= REQUIRED_NODE_MAJOR) return undefined
  return `spansift needs Node.js ${REQUIRED_NODE_MAJOR} or newer; this is Node.js ${version}. Install Node ${REQUIRED_NODE_MAJOR} (for example: nvm install ${REQUIRED_NODE_MAJOR}) and run it again.`
}
