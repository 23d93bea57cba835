import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { amqpAvailable, amqpUrl, applyEffect, createEffects, deleteBrokerQueues, effects, jobPrefix, waitFor } from '../../test/helpers/queue.ts'
import { assertJobName, jobIdFor, retryDelaySeconds, type Job } from './queue.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('queue rules', () => {
  it('keeps a UUID job id and maps any other key to the same UUID for the same job name', () => {
    const id = randomUUID()
    expect(jobIdFor('mail.send', id)).toBe(id)
    expect(jobIdFor('mail.send', 'order-1')).toMatch(UUID)
    expect(jobIdFor('mail.send', 'order-1')).toBe(jobIdFor('mail.send', 'order-1'))
    expect(jobIdFor('mail.send', 'order-1')).not.toBe(jobIdFor('webhooks.deliver', 'order-1'))
  })

  it('doubles the retry delay with back-off (capped at an hour), or keeps it fixed', () => {
    const backoff = { retryLimit: 20, retryDelaySeconds: 5, retryBackoff: true }
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(backoff, a))).toEqual([5, 10, 20, 40])
    expect(retryDelaySeconds(backoff, 20)).toBe(3600)
    expect(retryDelaySeconds({ ...backoff, retryDelaySeconds: 0 }, 1)).toBe(1)
    expect([1, 2, 3].map((a) => retryDelaySeconds({ ...backoff, retryBackoff: false }, a))).toEqual([5, 5, 5])
  })

  it('refuses job names that could collide with derived queues or that a broker cannot take', () => {
    for (const bad of ['', 'a b', 'a.dead', 'a.retry.5000', '-a', 'x'.repeat(101), 'a/b']) expect(() => { assertJobName(bad) }).toThrow(/job name/)
    for (const good of ['mail.send', 'webhooks.deliver', 'Tasks_run-2']) expect(() => { assertJobName(good) }).not.toThrow()
  })
})

const withAmqp = await amqpAvailable()
const adapters = [
  { kind: 'pg-boss' as const, env: {} as Record<string, string> },
  ...(withAmqp ? [{ kind: 'amqp' as const, env: { AMQP_URL: amqpUrl } }] : [])
]

// The same contract, run against every adapter this lane has (RabbitMQ only with AMQP_URL set).
describe.each(adapters)('job queue contract: $kind', ({ kind, env }) => {
  let t: TestApp
  const prefix = jobPrefix()
  const names = new Set<string>()
  const name = (what: string) => {
    const n = `${prefix}.${what}`
    names.add(n)
    return n
  }
  beforeAll(async () => {
    t = await createTestApp({ env })
    await createEffects(t.app.dbPool)
  })
  afterAll(async () => {
    await t?.close()
    if (kind === 'amqp') await deleteBrokerQueues(names)
  })

  it('uses the adapter the settings ask for', () => {
    expect(t.app.queue.kind).toBe(kind)
  })

  it('accepts jobs before any worker runs them, shows them queued, and runs each once when one starts', async () => {
    const n = name('later')
    expect(await t.app.queue.send(n, { a: 1 })).toMatch(UUID)
    expect(await t.app.queue.send(n, { a: 2 })).toMatch(UUID)
    const stats = await waitFor(() => t.app.queue.stats(), (s) => s.find((q) => q.name === n)?.queued === 2)
    // pg-boss also tells how long the oldest due job has waited (RabbitMQ cannot).
    const age = kind === 'pg-boss' ? { oldestDueSeconds: expect.any(Number) as number } : {}
    expect(stats.find((q) => q.name === n)).toEqual({ name: n, queued: 2, active: 0, failed: 0, deadLetters: 0, ...age })
    t.app.queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
    await t.app.queue.start()
    const done = await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 2)
    expect(done.map((e) => e.data)).toEqual(expect.arrayContaining([{ a: 1 }, { a: 2 }]))
    await waitFor(() => t.app.queue.stats(), (s) => s.find((q) => q.name === n)?.queued === 0)
  })

  it('runs sent jobs with their id, name, data and attempt 1', async () => {
    const n = name('basic')
    const seen: Array<Job<{ i: number }>> = []
    t.app.queue.define<{ i: number }>(n, async (job) => {
      seen.push(job)
      await applyEffect(t.app.dbPool, job)
    })
    await t.app.queue.start()
    const ids = await Promise.all([1, 2, 3].map((i) => t.app.queue.send(n, { i })))
    await waitFor(() => seen.length, (k) => k === 3)
    expect(seen.map((j) => j.id).sort()).toEqual([...ids].sort())
    expect(seen.map((j) => ({ name: j.name, attempt: j.attempt }))).toEqual(Array(3).fill({ name: n, attempt: 1 }))
    expect(seen.map((j) => j.data.i).sort()).toEqual([1, 2, 3])
  })

  it('ignores a second send with the same id, before and after the job ran', async () => {
    const n = name('idempotent')
    t.app.queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
    await t.app.queue.start()
    const first = await t.app.queue.send(n, { v: 1 }, { id: 'order-42' })
    expect(first).toBe(jobIdFor(n, 'order-42'))
    expect(await t.app.queue.send(n, { v: 2 }, { id: 'order-42' })).toBeNull()
    await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 1)
    expect(await t.app.queue.send(n, { v: 3 }, { id: 'order-42' })).toBeNull()
    await sleep(700)
    expect(await effects(t.app.dbPool, n)).toEqual([{ jobId: first, data: { v: 1 }, deliveries: 1 }])
  })

  it('retries a failing job with growing delays, dead-letters it after the last attempt, and retries it on request', async () => {
    const n = name('flaky')
    const attempts: Array<{ attempt: number, at: number }> = []
    let healthy = false
    t.app.queue.define<{ order: number }>(n, async (job) => {
      attempts.push({ attempt: job.attempt, at: Date.now() })
      if (!healthy) throw new Error('downstream is down')
      await applyEffect(t.app.dbPool, job)
    }, { retryLimit: 2, retryDelaySeconds: 1 })
    await t.app.queue.start()
    await t.app.queue.send(n, { order: 7 })
    const [dead] = await waitFor(() => t.app.queue.deadLetters(n), (d) => d.length === 1, 20_000)
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
    // Back-off: about 1 s before the second attempt, about 2 s before the third.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900)
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1900)
    expect(dead).toMatchObject({ name: n, data: { order: 7 }, error: 'downstream is down' })
    expect(Date.parse(dead!.failedAt)).toBeGreaterThan(Date.now() - 60_000)
    expect((await t.app.queue.stats()).find((q) => q.name === n)).toMatchObject({ queued: 0, failed: 0, deadLetters: 1 })

    healthy = true
    expect(await t.app.queue.retryDeadLetter(n, randomUUID())).toBe(false)
    expect(await t.app.queue.retryDeadLetter(n, dead!.id)).toBe(true)
    const done = await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 1)
    expect(done[0]!.data).toEqual({ order: 7 })
    expect(await t.app.queue.deadLetters(n)).toEqual([])
    expect(await t.app.queue.retryDeadLetter(n, dead!.id)).toBe(false)
  })

  it('lets a send override the defined retry policy: one retry after a fixed delay', async () => {
    const n = name('fixed')
    const attempts: number[] = []
    t.app.queue.define(n, async () => {
      attempts.push(Date.now())
      throw new Error('always fails')
    }, { retryLimit: 0 })
    await t.app.queue.start()
    await t.app.queue.send(n, {}, { retryLimit: 1, retryDelaySeconds: 1, retryBackoff: false })
    await waitFor(() => t.app.queue.deadLetters(n), (d) => d.length === 1)
    expect(attempts).toHaveLength(2)
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(900)
  })

  it('keeps a job sent inside a transaction only if the transaction commits', async () => {
    const n = name('tx')
    t.app.queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
    await t.app.queue.start()
    await expect(t.app.db.transaction(async (tx) => {
      await t.app.queue.send(n, { rolledBack: true }, {}, tx)
      throw new Error('rollback')
    })).rejects.toThrow('rollback')
    let id: string | null = null
    await t.app.db.transaction(async (tx) => { id = await t.app.queue.send(n, { committed: true }, {}, tx) })
    await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 1)
    await sleep(1000)
    expect(await effects(t.app.dbPool, n)).toEqual([{ jobId: id, data: { committed: true }, deliveries: 1 }])
  })

  it('sendMany records a batch in one call: in the transaction only if it commits, each id once, each job run once', async () => {
    const n = name('many')
    t.app.queue.define(n, async (job) => { await applyEffect(t.app.dbPool, job) })
    await t.app.queue.start()
    await expect(t.app.db.transaction(async (tx) => {
      await t.app.queue.sendMany(n, [{ data: { i: -1 }, options: { id: 'lost' } }], tx)
      throw new Error('rollback')
    })).rejects.toThrow('rollback')
    const first = await t.app.queue.sendMany(n, [0, 1, 2].map((i) => ({ data: { i }, options: { id: `slot-${i}` } })))
    expect([...first].sort()).toEqual([0, 1, 2].map((i) => jobIdFor(n, `slot-${i}`)).sort())
    // A batch overlapping ids already accepted adds only the new ones, in a transaction too.
    let second: string[] = []
    await t.app.db.transaction(async (tx) => {
      second = await t.app.queue.sendMany(n, [2, 3].map((i) => ({ data: { i }, options: { id: `slot-${i}` } })), tx)
    })
    expect(second).toEqual([jobIdFor(n, 'slot-3')])
    expect(await t.app.queue.sendMany(n, [])).toEqual([])
    await waitFor(() => effects(t.app.dbPool, n), (e) => e.length === 4)
    await sleep(1000)
    const done = await effects(t.app.dbPool, n)
    expect(done.map((e) => (e.data as { i: number }).i).sort()).toEqual([0, 1, 2, 3])
    expect(done.every((e) => e.deliveries === 1)).toBe(true)
    await expect(t.app.queue.sendMany(n, [{ data: {}, options: { id: 'x' } }, { data: {}, options: { id: 'x' } }])).rejects.toThrow(/different ids/)
    await expect(t.app.queue.sendMany('bad name', [{ data: {} }])).rejects.toThrow(/job name/)
  })

  it('runs no job before its startAfter', async () => {
    const n = name('delayed')
    const ran: number[] = []
    t.app.queue.define(n, async () => { ran.push(Date.now()) })
    await t.app.queue.start()
    const sent = Date.now()
    await t.app.queue.send(n, {}, { startAfter: new Date(sent + 1500) })
    await waitFor(() => ran.length, (k) => k === 1)
    expect(ran[0]! - sent).toBeGreaterThanOrEqual(1400)
  })

  it('runs at most `concurrency` jobs of one name at once on a node', async () => {
    const n = name('bounded')
    let running = 0
    let most = 0
    let done = 0
    t.app.queue.define(n, async () => {
      most = Math.max(most, ++running)
      await sleep(150)
      running--
      done++
    }, { concurrency: 2 })
    await t.app.queue.start()
    await Promise.all(Array.from({ length: 6 }, (_v, i) => t.app.queue.send(n, { i })))
    await waitFor(() => done, (k) => k === 6)
    expect(most).toBe(2)
  })

  it('refuses a bad name or option before recording anything', async () => {
    await expect(t.app.queue.send('bad name', {})).rejects.toThrow(/job name/)
    await expect(t.app.queue.send(name('opts'), {}, { retryLimit: -1 })).rejects.toThrow(/retryLimit/)
    expect(() => { t.app.queue.define(name('basic'), async () => {}) }).toThrow(/already defined/)
  })
})
