import { describe, expect, it } from 'vitest'
import { createAuditWriter, describeError, isRowRefused, type AuditWriterOptions, type DropReason } from './writer.ts'
import type { AuditInsert } from './table.ts'

const row = (n: number): AuditInsert => ({ action: `test.${n}`, outcome: 'success', actorType: 'system', details: {} })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const pgError = (code: string) => Object.assign(new Error('db says no: secret-value-in-message'), { code })

/** harness builds a writer over an in-memory store whose insert can be made to fail or stall. */
function harness (options: Partial<AuditWriterOptions> = {}) {
  const stored: string[] = []
  const batches: number[] = []
  const dropped: Record<string, number> = {}
  const logs: Array<Record<string, unknown>> = []
  let failures = 0
  let fail: ((rows: AuditInsert[]) => Error | undefined) | undefined
  let gate: Promise<void> | undefined
  const writer = createAuditWriter({
    insert: async (rows) => {
      await gate
      const err = fail?.(rows)
      if (err) throw err
      batches.push(rows.length)
      stored.push(...rows.map((r) => r.action))
    },
    log: { error: (obj) => { logs.push(obj) } },
    onDropped: (n: number, reason: DropReason) => { dropped[reason] = (dropped[reason] ?? 0) + n },
    onFailed: () => { failures++ },
    flushMs: 10,
    maxBackoffMs: 50,
    ...options
  })
  return {
    writer,
    stored,
    batches,
    dropped,
    logs,
    failures: () => failures,
    failWith: (f: typeof fail) => { fail = f },
    hold: () => { let open!: () => void; gate = new Promise((resolve) => { open = resolve }); return () => { gate = undefined; open() } }
  }
}

async function until (check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(5)
  }
}

describe('createAuditWriter', () => {
  it('writes queued rows in order, in batches of at most batchSize, without being asked', async () => {
    const h = harness({ batchSize: 7 })
    for (let i = 0; i < 30; i++) h.writer.enqueue(row(i))
    await until(() => h.stored.length === 30)
    expect(h.stored).toEqual(Array.from({ length: 30 }, (_, i) => `test.${i}`))
    expect(Math.max(...h.batches)).toBeLessThanOrEqual(7)
    // Later events are picked up by the timer too: the writer did not stall after its first pump.
    await h.writer.flush()
    h.writer.enqueue(row(99))
    await until(() => h.stored.includes('test.99'))
  })

  it('drops beyond the bound, counting every drop and logging without flooding', async () => {
    const h = harness({ maxQueue: 5, batchSize: 100 })
    const release = h.hold()
    h.writer.enqueue(row(0))
    await sleep(30) // the first row is now being written, held at the gate
    for (let i = 1; i <= 20; i++) h.writer.enqueue(row(i))
    expect(h.writer.pending()).toBe(5)
    expect(h.dropped.queue_full).toBe(15)
    expect(h.logs.filter((l) => l.reason === 'queue_full')).toHaveLength(1)
    release()
    await h.writer.flush()
    expect(h.stored).toEqual(['test.0', 'test.1', 'test.2', 'test.3', 'test.4', 'test.5'])
  })

  it('retries a batch while the database is down, then writes everything', async () => {
    const h = harness()
    h.failWith(() => pgError('08006'))
    for (let i = 0; i < 5; i++) h.writer.enqueue(row(i))
    await until(() => h.failures() >= 3)
    expect(h.stored).toEqual([])
    h.failWith(undefined)
    await until(() => h.stored.length === 5)
    expect(h.stored).toEqual(['test.0', 'test.1', 'test.2', 'test.3', 'test.4'])
    expect(h.dropped.write_failed).toBeUndefined()
    // The log line names the failure by code, never by message (which may quote values).
    expect(JSON.stringify(h.logs)).not.toContain('secret-value-in-message')
    expect(h.logs[0]).toMatchObject({ err: { code: '08006' } })
  })

  it('isolates a row the database refuses and writes the rest', async () => {
    const h = harness()
    h.failWith((rows) => (rows.some((r) => r.action === 'test.2') ? pgError('22P05') : undefined))
    for (let i = 0; i < 5; i++) h.writer.enqueue(row(i))
    await h.writer.flush()
    expect(h.stored).toEqual(['test.0', 'test.1', 'test.3', 'test.4'])
    expect(h.dropped.write_failed).toBe(1)
  })

  it('drains the queue on close and refuses (counts) events after it', async () => {
    const h = harness({ flushMs: 60_000 })
    for (let i = 0; i < 250; i++) h.writer.enqueue(row(i))
    expect(h.stored).toHaveLength(0)
    await h.writer.close()
    expect(h.stored).toHaveLength(250)
    h.writer.enqueue(row(251))
    expect(h.dropped.shutdown).toBe(1)
  })

  it('counts what it cannot write at shutdown as dropped', async () => {
    const h = harness({ flushMs: 60_000 })
    h.failWith(() => new Error('Cannot use a pool after calling end on the pool'))
    for (let i = 0; i < 3; i++) h.writer.enqueue(row(i))
    await h.writer.close()
    expect(h.dropped.shutdown).toBe(3)
  })
})

describe('isRowRefused and describeError', () => {
  it('tells refused rows from outages', () => {
    expect(isRowRefused(pgError('23514'))).toBe(true)
    expect(isRowRefused(new Error('wrapped', { cause: pgError('22001') }))).toBe(true)
    expect(isRowRefused(pgError('08006'))).toBe(false)
    expect(isRowRefused(new Error('timeout'))).toBe(false)
  })

  it('keeps codes and names, never messages', () => {
    const described = describeError(new Error('Failed query: insert … params: hunter2', { cause: Object.assign(pgError('23514'), { constraint: 'audit_events_outcome_check' }) }))
    expect(described).toEqual({ type: 'Error', code: '23514', constraint: 'audit_events_outcome_check' })
  })
})
