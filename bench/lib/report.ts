import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'

/** resultsDir is where the benchmarks write their JSON results (gitignored). */
export const resultsDir = fileURLToPath(new URL('../results/', import.meta.url))

/** median returns the middle value (the mean of the two middle ones for an even count). */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** table renders rows as aligned text columns under a header and a rule; numbers are right-aligned. */
export function table (header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  const numeric = header.map((_, i) => rows.every((row) => typeof row[i] === 'number' || /^[\d.,x×%-]+$/.test(String(row[i]))))
  const line = (row: string[]) => row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

/** machine describes where a benchmark ran, stored beside its figures. */
export function machine () {
  const cpu = cpus()
  return {
    node: process.version,
    platform: `${process.platform} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1048576)
  }
}

/** sourceState names the code that was measured: the commit and how many files under src/ differ from it. */
export function sourceState (): { commit: string, changedSrcFiles: number } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    return { commit: git('rev-parse', '--short', 'HEAD'), changedSrcFiles: git('status', '--porcelain', '--', 'src', 'migrations').split('\n').filter(Boolean).length }
  } catch {
    return { commit: 'unknown', changedSrcFiles: -1 }
  }
}

/** writeResult stores a benchmark's results as bench/results/<kind>-<date>.json and returns the path. */
export async function writeResult (kind: string, data: unknown): Promise<string> {
  await mkdir(resultsDir, { recursive: true })
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')
  const file = `${resultsDir}${kind}-${stamp}.json`
  await writeFile(file, JSON.stringify(data, null, 2) + '\n')
  return file
}

/** intOption reads a numeric option (flag or env), refusing anything but an integer of at least min. */
export function intOption (name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`)
  return n
}
