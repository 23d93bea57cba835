import { afterAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../../../test/helpers/app.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.ts'
import { applyEffect, createEffects, effects, jobPrefix, waitFor } from '../../../test/helpers/queue.ts'
import { QUEUE_SCHEMA } from './pg-boss-queue.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const databases: TestDatabase[] = []
afterAll(async () => { for (const d of databases) await d.drop() })

async function database (): Promise<TestDatabase> {
  const d = await createTestDatabase()
  databases.push(d)
  return d
}

describe('pg-boss queue (the embedded default)', () => {
  it('loses nothing across a restart: jobs accepted by one app run exactly once on the next', async () => {
    const db = await database()
    const name = `${jobPrefix()}.restart`
    const first = await createTestApp({ database: db })
    await createEffects(first.app.dbPool)
    const sent = await Promise.all(Array.from({ length: 20 }, (_v, i) => first.app.queue.send(name, { i })))
    await first.app.close()

    const second = await createTestApp({ database: db })
    try {
      second.app.queue.define(name, async (job) => { await applyEffect(second.app.dbPool, job) })
      await second.app.queue.start()
      const done = await waitFor(() => effects(second.app.dbPool, name), (e) => e.length === 20)
      expect(done.map((e) => e.jobId).sort()).toEqual([...sent].sort())
      expect(done.every((e) => e.deliveries === 1)).toBe(true)
    } finally {
      await second.app.close()
    }
  })

  it('on close, waits for running jobs to finish and records them done, so the next node does not run them again', async () => {
    const db = await database()
    const name = `${jobPrefix()}.drain`
    const first = await createTestApp({ database: db })
    await createEffects(first.app.dbPool)
    let started = 0
    first.app.queue.define(name, async (job) => {
      started++
      await sleep(400)
      await applyEffect(first.app.dbPool, job)
    })
    await first.app.queue.start()
    await Promise.all([1, 2].map((i) => first.app.queue.send(name, { i })))
    await waitFor(() => started, (n) => n === 2)
    await first.app.close()
    const second = await createTestApp({ database: db })
    try {
      expect(await effects(second.app.dbPool, name)).toHaveLength(2)
      second.app.queue.define(name, async (job) => { await applyEffect(second.app.dbPool, job) })
      await second.app.queue.start()
      await sleep(1000)
      expect((await effects(second.app.dbPool, name)).map((e) => e.deliveries)).toEqual([1, 1])
      expect((await second.app.queue.stats()).find((q) => q.name === name)).toMatchObject({ queued: 0, active: 0, failed: 0 })
    } finally {
      await second.app.close()
    }
  })

  it('runs nothing until start(): an app that only sends starts no worker', async () => {
    const t = await createTestApp()
    try {
      const name = `${jobPrefix()}.idle`
      let ran = 0
      t.app.queue.define(name, async () => { ran++ })
      await t.app.queue.send(name, {})
      await sleep(800)
      expect(ran).toBe(0)
      expect((await t.app.queue.stats()).find((q) => q.name === name)).toMatchObject({ queued: 1, active: 0 })
    } finally {
      await t.close()
    }
  })

  it('installs its schema on first use in a database that has none', async () => {
    const t = await createTestApp()
    try {
      await t.app.dbPool.query(`DROP SCHEMA ${QUEUE_SCHEMA} CASCADE`)
      const name = `${jobPrefix()}.fresh`
      expect(await t.app.queue.send(name, { hello: 'world' })).toBeTruthy()
      const { rows } = await t.app.dbPool.query(`SELECT count(*)::int AS n FROM ${QUEUE_SCHEMA}.job WHERE name = $1`, [name])
      expect(rows[0]).toEqual({ n: 1 })
    } finally {
      await t.close()
    }
  })

  it('two processes starting at once on a database without its schema both start (start --workers N on a new database)', async () => {
    const db = await database()
    const apps = [await createTestApp({ database: db }), await createTestApp({ database: db })]
    try {
      await apps[0]!.app.dbPool.query(`DROP SCHEMA ${QUEUE_SCHEMA} CASCADE`)
      const name = `${jobPrefix()}.race`
      for (const a of apps) a.app.queue.define(name, async () => {})
      // Both find pg-boss not installed and install it together: the loser used to give up.
      const started = await Promise.allSettled(apps.map((a) => a.app.queue.start()))
      expect(started.map((r) => r.status === 'rejected' ? String(r.reason) : r.status)).toEqual(['fulfilled', 'fulfilled'])
    } finally {
      for (const a of apps) await a.app.close()
    }
  })

  it('adds no readiness check of its own: the database check covers it', async () => {
    const t = await createTestApp()
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(200)
      expect(Object.keys(res.json().checks)).toEqual(['database'])
    } finally {
      await t.close()
    }
  })
})
