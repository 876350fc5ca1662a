/**
 * A fenced block of README.md, as readme.integration.test.ts sees it:
 * - `shell`: a `sh`/`bash`/`shell` block, run in one bash session with the others;
 * - `file`: a `js`/`mjs`/`python`/`py` block whose first line names its file
 *   (`// file: send-span.mjs`, `# file: chat.py`), written there before the shell runs;
 * - `skipped`: any block after `<!-- readme-test: skip — reason -->`;
 * - `text`: a `text` block (output or a listing, nothing to run);
 * - `unrunnable`: anything else, which fails the test until it is made runnable or marked.
 */
export interface ReadmeBlock {
  kind: 'shell' | 'file' | 'skipped' | 'text' | 'unrunnable'
  /** 1-based line of the opening fence. */
  line: number
  language: string
  text: string
  fileName?: string
  /** Why it is skipped or cannot run. */
  reason?: string
}

const SKIP_MARKER = /^<!--\s*readme-test:\s*skip\s*[—–-]+\s*(\S.*?)\s*-->$/
const SHELL = new Set(['sh', 'bash', 'shell'])
const FILE_HEADER: Record<string, RegExp> = {
  js: /^\/\/ file: ([\w.-]+)$/,
  mjs: /^\/\/ file: ([\w.-]+)$/,
  python: /^# file: ([\w.-]+)$/,
  py: /^# file: ([\w.-]+)$/,
}

/** Splits markdown into its fenced blocks, classified; a marker must be the line before the fence. */
export function parseReadmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n')
  const blocks: ReadmeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const language = open[1]!
    const start = i
    let end = i + 1
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++
    if (end === lines.length) throw new Error(`README.md:${start + 1}: a fence that never closes`)
    const text = lines.slice(start + 1, end).join('\n')
    i = end
    const line = start + 1
    const skip = start > 0 ? SKIP_MARKER.exec(lines[start - 1]!.trim()) : null
    if (skip) {
      blocks.push({ kind: 'skipped', line, language, text, reason: skip[1] })
    } else if (language === 'text') {
      blocks.push({ kind: 'text', line, language, text })
    } else if (SHELL.has(language)) {
      blocks.push({ kind: 'shell', line, language, text })
    } else if (FILE_HEADER[language]) {
      const name = FILE_HEADER[language].exec(text.split('\n')[0] ?? '')
      if (name) blocks.push({ kind: 'file', line, language, text: `${text}\n`, fileName: name[1] })
      else
        blocks.push({
          kind: 'unrunnable',
          line,
          language,
          text,
          reason: `a ${language} block without a "file:" first line`,
        })
    } else {
      blocks.push({
        kind: 'unrunnable',
        line,
        language,
        text,
        reason: language ? `no way to run a ${language} block` : 'a block without a language',
      })
    }
  }
  return blocks
}
