import { afterAll, expect, it } from 'vitest'
import type { BackplaneModule } from '../../src/platform/modules.ts'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { applyEffect, createEffects, effects } from '../helpers/queue.ts'
import { privateRabbit, type PrivateRabbit } from '../helpers/private-rabbitmq.ts'

// SECURITY.md RL-08, fault run R-AMQP-KILL: the broker itself (a private rabbitmq-server node with
// its own name, ports and folders, never the shared one) is killed with SIGKILL and started again
// while jobs are being sent and consumed. No accepted job may be lost; a redelivery may run a
// handler twice, and the idempotent handler (one effect per job id) applies it once.
const JOB = 'rl08.work'
let rabbit: PrivateRabbit | undefined
let t: TestApp | undefined
afterAll(async () => {
  await t?.close()
  await rabbit?.stop()
})

it('RL-08 R-AMQP-KILL: broker SIGKILL and restart under job load loses no job and applies none twice', { timeout: 150_000 }, async () => {
  rabbit = await privateRabbit()
  await rabbit.start()
  let handlerRuns = 0
  const work: BackplaneModule = {
    name: 'rl08',
    plugin: async (app) => {
      app.queue.define<{ n: number }>(JOB, async (job) => {
        handlerRuns++
        await new Promise((resolve) => setTimeout(resolve, 5))
        await applyEffect(app.dbPool, job)
      }, { concurrency: 4, retryDelaySeconds: 1 })
    }
  }
  t = await createTestApp({ env: { AMQP_URL: rabbit.url }, modules: [work] })
  await createEffects(t.app.dbPool)
  await t.app.queue.start()

  const accepted = new Set<number>()
  let refused = 0
  let n = 0
  const send = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const k = n++
      await t!.app.queue.send(JOB, { n: k }).then(() => { accepted.add(k) }, () => { refused++ })
    }
  }
  await send(300)
  const killing = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    await rabbit!.kill()
  })()
  await send(300) // some of these are confirmed by the broker, the rest land in the outbox
  await killing
  await send(200) // the broker is dead: the outbox takes them
  // The `amqp` breaker (issue #12) opens on the failed reconnections: readiness names it and
  // answers at once instead of waiting out its 800 ms check.
  type Ready = { status: string, breakers?: Record<string, string> }
  const readiness = async () => {
    const at = Date.now()
    const res = await t!.app.inject({ method: 'GET', url: '/health/ready' })
    return { statusCode: res.statusCode, body: res.json<Ready>(), ms: Date.now() - at }
  }
  const killedAt = Date.now()
  let down = await readiness()
  while (down.body.breakers?.amqp === undefined && Date.now() - killedAt < 15_000) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    down = await readiness()
  }
  const openedMs = Date.now() - killedAt
  const whileOpen = await readiness()
  const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
  await rabbit.start()
  const startedAt = Date.now()
  let up = await readiness()
  while ((up.statusCode !== 200 || up.body.breakers?.amqp !== undefined) && Date.now() - startedAt < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    up = await readiness()
  }
  const closedMs = Date.now() - startedAt
  await send(200)

  const deadline = Date.now() + 60_000
  let done = await effects(t.app.dbPool, JOB)
  while (done.length < accepted.size && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    done = await effects(t.app.dbPool, JOB)
  }
  const applied = new Set(done.map((e) => (e.data as { n: number }).n))
  const lost = [...accepted].filter((k) => !applied.has(k))
  const redelivered = done.filter((e) => e.deliveries > 1).length
  console.log(`R-AMQP-KILL: ${n} sent, ${accepted.size} accepted, ${refused} refused, ${applied.size} applied, ${lost.length} lost, ${handlerRuns - done.length} redeliveries (${redelivered} jobs), duplicates applied ${done.length - applied.size}`)
  console.log(`R-AMQP-KILL breaker: amqp named by readiness ${openedMs} ms after the kill (readiness then answered in ${whileOpen.ms} ms), closed ${closedMs} ms after the broker was started`)
  expect(down.statusCode).toBe(503)
  expect(down.body.breakers?.amqp).toMatch(/^(open|half-open)$/)
  expect(metrics).toMatch(/backplane_breaker_state\{dependency="amqp"\} [12]/)
  expect(whileOpen.ms).toBeLessThan(500)
  expect(up.statusCode).toBe(200)
  expect(up.body.breakers).toBeUndefined()
  const transitions = t.logs.lines().filter((l) => l.module === 'breakers' && l.dependency === 'amqp').map((l) => l.breaker)
  expect(transitions[0]).toBe('open')
  expect(transitions.at(-1)).toBe('closed')
  expect(refused).toBe(0)
  expect(lost).toEqual([])
  expect(done.length).toBe(applied.size)
})
