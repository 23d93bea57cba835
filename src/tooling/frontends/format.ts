import type { DetectedFrontend, DetectionResult } from './types.ts'

const HEADERS = ['NAME', 'PATH', 'FRAMEWORK', 'PACKAGE MANAGER', 'ORIGINS']

/** frameworkLabel writes a framework with its version, e.g. `react-vite@^19.3.1`. */
export function frameworkLabel (app: DetectedFrontend): string {
  return app.frameworkVersion === null ? app.framework : `${app.framework}@${app.frameworkVersion}`
}

/**
 * formatDetection writes a scan for people: one table row per app (name, path, framework@version,
 * package manager, dev origins), a count, then each problem as `path/file: message`.
 */
export function formatDetection (result: DetectionResult): string {
  const lines: string[] = []
  const folders = `${result.scannedDirs} folder${result.scannedDirs === 1 ? '' : 's'}`
  if (result.frontends.length === 0) {
    lines.push(`No frontend apps found in ${result.root} (${folders} scanned).`)
  } else {
    const rows = result.frontends.map((app) => [
      app.name,
      app.path,
      frameworkLabel(app),
      app.packageManager ?? '-',
      app.origins.length === 0 ? '-' : app.origins.join(', ')
    ])
    lines.push(...table([HEADERS, ...rows]))
    const count = result.frontends.length
    lines.push('', `${count} frontend app${count === 1 ? '' : 's'} found in ${folders}.`)
  }
  if (result.problems.length > 0) {
    lines.push('', `Problems (${result.problems.length}):`)
    for (const p of result.problems) {
      const where = p.path === '.' ? p.file : `${p.path}/${p.file}`
      lines.push(`  ${where}: ${p.message}`)
    }
  }
  return lines.join('\n') + '\n'
}

/** table pads each column to its widest cell, two spaces apart, with no trailing spaces. */
function table (rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
}
