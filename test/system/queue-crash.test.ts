import { afterAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../helpers/app.ts'
import { runNode, type ChildRun } from '../helpers/process.ts'
import { amqpAvailable, amqpUrl, applyEffect, createEffects, deleteBrokerQueues, effects, jobPrefix, waitFor } from '../helpers/queue.ts'

// Real processes killed with SIGKILL: nothing runs on the way down, as when a node dies.
const runWorker = (env: Record<string, string>): ChildRun => runNode(['test/fixtures/queue-worker.ts'], { LOG_LEVEL: 'warn', BACKPLANE_ENV: 'test', ...env })

const withAmqp = await amqpAvailable()
const adapters = [
  { kind: 'pg-boss' as const, env: {} as Record<string, string> },
  ...(withAmqp ? [{ kind: 'amqp' as const, env: { AMQP_URL: amqpUrl } }] : [])
]
const names = new Set<string>()
afterAll(async () => { if (withAmqp) await deleteBrokerQueues(names) })

describe.each(adapters)('a killed node loses no job: $kind', ({ env }) => {
  it('RL-04: jobs a process accepted just before it was killed run exactly once on the next node', async () => {
    const t = await createTestApp({ env })
    const name = `${jobPrefix()}.survivor`
    names.add(name)
    try {
      await createEffects(t.app.dbPool)
      const sender = runWorker({ ...env, DATABASE_URL: t.db.url, MODE: 'send-and-die', JOB_NAME: name, COUNT: '25' })
      const exit = await sender.exited
      expect(exit.signal, sender.output()).toBe('SIGKILL')
      const sent = [...sender.output().matchAll(/^sent (\S+)$/gm)].map((m) => m[1])
      expect(sent).toHaveLength(25)

      t.app.queue.define(name, async (job) => { await applyEffect(t.app.dbPool, job) })
      await t.app.queue.start()
      const done = await waitFor(() => effects(t.app.dbPool, name), (e) => e.length === 25, 20_000)
      expect(done.map((e) => e.jobId).sort()).toEqual(sent.sort())
      expect(done.every((e) => e.deliveries === 1)).toBe(true)
    } finally {
      await t.close()
    }
  }, 60_000)
})

describe.skipIf(!withAmqp)('RabbitMQ consumer killed before its ack (R-AMQP-KILL)', () => {
  it('RL-04: the broker redelivers the job to another consumer and its effect is applied once', async () => {
    const t = await createTestApp({ env: { AMQP_URL: amqpUrl } })
    const name = `${jobPrefix()}.killed`
    names.add(name)
    try {
      await createEffects(t.app.dbPool)
      const consumer = runWorker({ AMQP_URL: amqpUrl, DATABASE_URL: t.db.url, MODE: 'die-before-ack', JOB_NAME: name })
      await waitFor(() => consumer.output(), (out) => out.includes('consuming') || consumer.child.exitCode !== null, 30_000)
      // This node relays the jobs to the broker; it has no handler for them yet.
      await t.app.queue.start()
      const sent = await Promise.all(Array.from({ length: 5 }, (_v, i) => t.app.queue.send(name, { i })))
      const exit = await consumer.exited
      expect(exit.signal, consumer.output()).toBe('SIGKILL')
      const killedOn = /^applied (\S+)$/m.exec(consumer.output())?.[1]
      expect(sent).toContain(killedOn)
      expect(await effects(t.app.dbPool, name)).toEqual([expect.objectContaining({ jobId: killedOn, deliveries: 1 })])

      const redelivered: string[] = []
      t.app.queue.define(name, async (job) => {
        if (!(await applyEffect(t.app.dbPool, job))) redelivered.push(job.id)
      })
      const done = await waitFor(() => effects(t.app.dbPool, name), (e) => e.length === 5 && e.some((r) => r.deliveries === 2), 20_000)
      // Five effects, one per job; the killed job was delivered twice and applied once.
      expect(done.map((e) => e.jobId).sort()).toEqual(sent.sort())
      expect(done.filter((e) => e.deliveries === 2).map((e) => e.jobId)).toEqual([killedOn])
      expect(redelivered).toEqual([killedOn])
    } finally {
      await t.close()
    }
  }, 60_000)
})
