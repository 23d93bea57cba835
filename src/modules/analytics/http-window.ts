import type { Registry } from 'prom-client'

/** HttpTotals are this node's request counters at one moment: all requests, 5xx replies, and the duration histogram's cumulative buckets. */
export interface HttpTotals {
  at: number
  count: number
  errors: number
  /** buckets maps an upper bound in seconds (`+Inf` as Infinity) to the requests at or under it. */
  buckets: Map<number, number>
}

/** HttpFigures are request rate, share of 5xx replies and the 99th percentile latency over a window. */
export interface HttpFigures {
  requestsPerSecond: number
  errorRate: number
  p99Ms: number | null
  windowSeconds: number
}

const METRIC = 'http_request_duration_seconds'

/** readHttpTotals sums the request-duration histogram of `registry` over every route, method, status and frontend. */
export async function readHttpTotals (registry: Registry, now: number): Promise<HttpTotals> {
  const totals: HttpTotals = { at: now, count: 0, errors: 0, buckets: new Map() }
  const metric = registry.getSingleMetric(METRIC)
  if (!metric) return totals
  // Histogram values carry the series name (`…_bucket`, `…_count`) beside their labels.
  for (const { metricName, labels, value } of (await metric.get()).values as Array<{ metricName?: string, labels: Record<string, string | number | undefined>, value: number }>) {
    if (metricName === `${METRIC}_count`) {
      totals.count += value
      if (Number(labels.status_code) >= 500) totals.errors += value
    } else if (metricName === `${METRIC}_bucket`) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le)
      totals.buckets.set(le, (totals.buckets.get(le) ?? 0) + value)
    }
  }
  return totals
}

/**
 * figuresBetween turns two readings into the window's figures. The p99 is the upper bound of the
 * bucket that holds the 99th percentile request (a histogram gives no finer answer), null when
 * no request was served or when it lies past the largest bucket.
 */
export function figuresBetween (before: HttpTotals, after: HttpTotals): HttpFigures {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000)
  const count = after.count - before.count
  const errors = after.errors - before.errors
  let p99Ms: number | null = null
  if (count > 0) {
    const rank = count * 0.99
    for (const le of [...after.buckets.keys()].sort((a, b) => a - b)) {
      if ((after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0) >= rank) {
        p99Ms = Number.isFinite(le) ? le * 1000 : null
        break
      }
    }
  }
  return {
    requestsPerSecond: Math.round((count / seconds) * 100) / 100,
    errorRate: count > 0 ? Math.round((errors / count) * 10_000) / 10_000 : 0,
    p99Ms,
    windowSeconds: Math.round(seconds)
  }
}

/**
 * createHttpWindow samples this node's request histogram every `intervalMs` and keeps the last
 * `samples` readings, so the overview shows the last minute or so, not the average since start.
 */
export function createHttpWindow (registry: Registry, { intervalMs = 10_000, samples = 7, now = Date.now } = {}) {
  const readings: HttpTotals[] = []
  const zero: HttpTotals = { at: now() - Math.round(process.uptime() * 1000), count: 0, errors: 0, buckets: new Map() }
  const sample = async () => {
    readings.push(await readHttpTotals(registry, now()))
    if (readings.length > samples) readings.shift()
  }
  let timer: NodeJS.Timeout | undefined
  return {
    start () {
      timer ??= setInterval(() => { sample().catch(() => {}) }, intervalMs).unref()
    },
    stop () {
      clearInterval(timer)
      timer = undefined
    },
    /** figures compares now with the oldest reading kept (or with the process start before the first one). */
    async figures (): Promise<HttpFigures> {
      return figuresBetween(readings[0] ?? zero, await readHttpTotals(registry, now()))
    },
    sample
  }
}

/** HttpWindow is this node's sliding view of its request figures. */
export type HttpWindow = ReturnType<typeof createHttpWindow>
