import { GENERATED_MARKER } from './owned-files.ts'

/** ENV_BLOCK_START opens the lines Backplane owns in a dotenv file; the rest of the file is the user's. */
export const ENV_BLOCK_START = `# ${GENERATED_MARKER} — the lines down to "# End of Backplane" are rewritten by \`backplane frontends sync --write-clients\``

/** ENV_BLOCK_END closes Backplane's lines. */
export const ENV_BLOCK_END = '# End of Backplane'

/** renderEnvBlock writes Backplane's lines: the markers around one `NAME=value` line per setting. */
export function renderEnvBlock (vars: Array<[string, string]>): string {
  return [ENV_BLOCK_START, ...vars.map(([name, value]) => `${name}=${value}`), ENV_BLOCK_END].join('\n') + '\n'
}

/**
 * mergeEnvBlock returns the dotenv text with Backplane's block in place of the old one (or appended),
 * every other line kept as it was. Assignments of the same names outside the block are dropped:
 * dotenv loaders let one of two definitions win silently, and the user would not know which.
 */
export function mergeEnvBlock (existing: string | null, vars: Array<[string, string]>): string {
  const block = renderEnvBlock(vars)
  if (existing === null || existing.trim() === '') return block
  const names = new Set(vars.map(([name]) => name))
  const lines = existing.replace(/\r\n/g, '\n').split('\n')
  if (lines.at(-1) === '') lines.pop()
  const kept: string[] = []
  let at = -1
  let inBlock = false
  for (const line of lines) {
    if (line.startsWith(`# ${GENERATED_MARKER}`)) {
      if (at === -1) at = kept.length
      inBlock = true
      continue
    }
    if (inBlock) {
      if (line.trim() === ENV_BLOCK_END) inBlock = false
      // A block whose end line was deleted ends at the first line that is not one of its settings.
      else if (!names.has(assignedName(line) ?? '')) {
        inBlock = false
        kept.push(line)
      }
      continue
    }
    if (names.has(assignedName(line) ?? '')) continue
    kept.push(line)
  }
  if (at === -1) {
    const body = kept.join('\n')
    return `${body}${body === '' ? '' : '\n\n'}${block}`
  }
  const before = kept.slice(0, at).join('\n')
  const after = kept.slice(at).join('\n')
  return `${before}${before === '' ? '' : '\n'}${block}${after}${after === '' ? '' : '\n'}`
}

/** assignedName is the variable a dotenv line sets (`NAME=…` or `export NAME=…`), if it sets one. */
function assignedName (line: string): string | null {
  return /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line)?.[1] ?? null
}
