import type { AuditInsert } from './table.ts'

/** AuditWriterLog is the part of a logger the writer uses. */
export interface AuditWriterLog {
  error: (obj: Record<string, unknown>, msg: string) => void
}

/** DropReason says why an event was not stored. */
export type DropReason = 'queue_full' | 'write_failed' | 'shutdown'

/** AuditWriterOptions wires the writer to storage, logs and metrics; the numbers have defaults. */
export interface AuditWriterOptions {
  insert: (rows: AuditInsert[]) => Promise<void>
  log: AuditWriterLog
  onWritten?: (count: number) => void
  onDropped?: (count: number, reason: DropReason) => void
  onFailed?: () => void
  maxQueue?: number
  batchSize?: number
  flushMs?: number
  maxBackoffMs?: number
}

/** describeError keeps what helps an operator (codes, constraint) and none of the values a query carried. */
export function describeError (err: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const { code, constraint, column } = e as { code?: unknown, constraint?: unknown, column?: unknown }
    if (typeof code === 'string' && out.code === undefined) out.code = code
    if (typeof constraint === 'string') out.constraint = constraint
    if (typeof column === 'string') out.column = column
    if (e instanceof Error && out.type === undefined) out.type = e.name
  }
  return out
}

/**
 * isRowRefused tells a row the database refuses (data exception 22xxx, integrity violation 23xxx),
 * which no retry can fix, from an outage or anything else, which is retried.
 */
export function isRowRefused (err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return true
  }
  return false
}

/**
 * createAuditWriter queues audit rows in memory and inserts them in small batches, so recording an
 * event never blocks or fails the request that caused it. The queue is bounded (beyond it events are
 * dropped, logged and counted); a failed batch is retried with back-off (an outage); a row the
 * database refuses is isolated and dropped so it cannot hold back the others; `close` drains the queue.
 */
export function createAuditWriter (options: AuditWriterOptions) {
  const { insert, log } = options
  const maxQueue = options.maxQueue ?? 10_000
  const batchSize = options.batchSize ?? 100
  const flushMs = options.flushMs ?? 50
  const maxBackoffMs = options.maxBackoffMs ?? 5_000
  const queue: AuditInsert[] = []
  let timer: NodeJS.Timeout | undefined
  let timerIsImmediate = false
  let inflight: Promise<boolean> | undefined
  let backoffMs = 0
  let closed = false
  // Overflow drops are logged at most every 10 s (with the count since the last line) so they cannot flood the log.
  let droppedSinceLog = 0
  let lastDropLog = 0

  function drop (count: number, reason: DropReason, extra: Record<string, unknown> = {}): void {
    options.onDropped?.(count, reason)
    if (reason !== 'queue_full') return log.error({ dropped: count, reason, queued: queue.length, ...extra }, 'audit events dropped')
    droppedSinceLog += count
    const now = Date.now()
    if (now - lastDropLog < 10_000) return
    log.error({ dropped: droppedSinceLog, reason, queued: queue.length }, 'audit events dropped')
    droppedSinceLog = 0
    lastDropLog = now
  }

  function kick (): void {
    if (closed || inflight || queue.length === 0) return
    const now = queue.length >= batchSize && backoffMs === 0
    if (timer && (timerIsImmediate || !now)) return
    if (timer) clearTimeout(timer)
    timerIsImmediate = now
    timer = setTimeout(() => {
      timer = undefined
      pump().then(kick, kick)
    }, now ? 0 : Math.max(flushMs, backoffMs))
    // A pending flush never keeps the process alive; shutdown drains through close().
    timer.unref()
  }

  async function insertOne (row: AuditInsert): Promise<'ok' | 'retry'> {
    try {
      await insert([row])
      options.onWritten?.(1)
      return 'ok'
    } catch (err) {
      if (!isRowRefused(err)) return 'retry'
      options.onFailed?.()
      drop(1, 'write_failed', { err: describeError(err), action: row.action })
      return 'ok'
    }
  }

  /** writeBatch stores the next batch; false when the database is unavailable (the batch is back in the queue). */
  async function writeBatch (): Promise<boolean> {
    const batch = queue.splice(0, batchSize)
    if (batch.length === 0) return true
    try {
      await insert(batch)
      options.onWritten?.(batch.length)
      backoffMs = 0
      return true
    } catch (err) {
      options.onFailed?.()
      const retry = (rest: AuditInsert[]): false => {
        queue.unshift(...rest)
        backoffMs = Math.min(maxBackoffMs, Math.max(100, backoffMs * 2))
        log.error({ err: describeError(err), events: rest.length, retryInMs: backoffMs }, 'audit batch not written; will retry')
        return false
      }
      if (!isRowRefused(err)) return retry(batch)
      // One bad row fails the batch: store the rows one by one so only that row is lost.
      for (let i = 0; i < batch.length; i++) {
        if ((await insertOne(batch[i]!)) === 'retry') return retry(batch.slice(i))
      }
      return true
    }
  }

  /** pump writes batches until the queue is empty or the database fails; one pump runs at a time. */
  function pump (): Promise<boolean> {
    if (inflight) return inflight
    const run = (async () => {
      while (queue.length > 0) {
        if (!(await writeBatch())) return false
      }
      return true
    })().catch((err: unknown) => {
      log.error({ err: describeError(err) }, 'audit writer failed')
      return false
    })
    inflight = run
    // Cleared after the assignment even when the run finished synchronously (an empty queue).
    run.then(() => { if (inflight === run) inflight = undefined }, () => {})
    return run
  }

  return {
    /** enqueue records a row for the next batch; it never throws and never waits. */
    enqueue (row: AuditInsert): void {
      if (closed) return drop(1, 'shutdown', { action: row.action })
      if (queue.length >= maxQueue) return drop(1, 'queue_full')
      queue.push(row)
      kick()
    },
    /** flush writes everything queued now; it resolves once the queue is empty or the database failed. */
    async flush (): Promise<void> {
      if (timer) clearTimeout(timer)
      timer = undefined
      // A pump already running may stop on a failure after taking only part of the queue: try once more.
      if (!(await pump()) || queue.length > 0) await pump()
      kick()
    },
    /** close drains the queue (for graceful shutdown) and counts what could not be written as dropped. */
    async close (): Promise<void> {
      if (timer) clearTimeout(timer)
      timer = undefined
      backoffMs = 0
      await pump()
      if (queue.length > 0) await pump()
      closed = true
      if (queue.length > 0) drop(queue.splice(0).length, 'shutdown')
    },
    /** pending is the number of events waiting to be written. */
    pending: () => queue.length
  }
}

/** AuditWriter is the batching audit writer. */
export type AuditWriter = ReturnType<typeof createAuditWriter>
