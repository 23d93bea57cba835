import { performance } from 'node:perf_hooks'
import { expect } from 'vitest'

// Timing comparisons for account-enumeration checks (AU-12): two kinds of request must not be told
// apart by how long they take.

/** median is the middle value of a sample. */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** mannWhitneyP is the two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected). */
export function mannWhitneyP (a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v)
  const ranks = new Array<number>(all.length)
  let tieTerm = 0
  for (let i = 0; i < all.length;) {
    let j = i
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1
    const n = j - i + 1
    tieTerm += n ** 3 - n
    i = j + 1
  }
  const n1 = a.length
  const n2 = b.length
  const r1 = all.reduce((sum, x, i) => sum + (x.g === 0 ? ranks[i]! : 0), 0)
  const u = r1 - (n1 * (n1 + 1)) / 2
  const mean = (n1 * n2) / 2
  const sd = Math.sqrt((n1 * n2 / 12) * ((n1 + n2 + 1) - tieTerm / ((n1 + n2) * (n1 + n2 - 1))))
  const z = Math.abs(u - mean) / sd
  return 2 * (1 - normalCdf(z))
}

function normalCdf (z: number): number {
  // Abramowitz–Stegun 7.1.26 approximation of erf.
  const x = z / Math.SQRT2
  const k = 1 / (1 + 0.3275911 * x)
  const erf = 1 - (((((1.061405429 * k - 1.453152027) * k) + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-x * x)
  return 0.5 * (1 + erf)
}

/** TimingReport is what compareTimings measured. */
export interface TimingReport { medianA: number, medianB: number, differenceOfMedians: number, pairedMedian: number, p: number }

/**
 * compareTimings takes n samples of each kind, alternating which goes first, after a warm-up, and
 * reports the medians, the median of the paired differences (each pair ran back to back) and the
 * Mann–Whitney p; expectAlike asserts them.
 */
export async function compareTimings (label: string, a: () => Promise<void>, b: () => Promise<void>, n = 200): Promise<TimingReport> {
  const time = async (fn: () => Promise<void>) => { const started = performance.now(); await fn(); return performance.now() - started }
  for (let i = 0; i < 20; i++) { await time(a); await time(b) }
  const as: number[] = []
  const bs: number[] = []
  for (let i = 0; i < n; i++) {
    if (i % 2) { bs.push(await time(b)); as.push(await time(a)) } else { as.push(await time(a)); bs.push(await time(b)) }
  }
  const report = {
    medianA: median(as),
    medianB: median(bs),
    differenceOfMedians: median(as) - median(bs),
    pairedMedian: median(as.map((x, i) => x - bs[i]!)),
    p: mannWhitneyP(as, bs)
  }
  console.info(`${label}: medians ${report.medianA.toFixed(2)} / ${report.medianB.toFixed(2)} ms, difference of medians ${report.differenceOfMedians.toFixed(2)} ms, median paired difference ${report.pairedMedian.toFixed(2)} ms, Mann-Whitney p = ${report.p.toFixed(3)} (n = ${n} + ${n})`)
  return report
}

/**
 * expectAlike holds a comparison to AU-12: the Mann–Whitney test finds no difference (p > 0.01) and
 * the median difference is under 5 ms. The median difference is taken over the pairs (each pair
 * ran back to back, in alternating order): on a machine shared with other test files the load
 * drifts by more than 5 ms within a run, which moves the difference of the two medians (reported)
 * but not the paired one. A real difference of a few milliseconds on 200 + 200 samples gives p < 0.001.
 */
export function expectAlike (report: TimingReport): void {
  expect(report.p, `Mann-Whitney p = ${report.p.toFixed(4)}`).toBeGreaterThan(0.01)
  expect(Math.abs(report.pairedMedian), 'median paired difference (ms)').toBeLessThan(5)
}
