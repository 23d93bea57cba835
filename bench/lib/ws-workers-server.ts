// Child process for `npm run bench:ws -- --workers N`: Backplane as `backplane start --workers N`
// runs it (src/cluster: a primary and N worker processes sharing one port), plus the bench's
// requests over IPC. The primary answers the bench; `publish` is done by the first worker (an
// event recorded and relayed there reaches the other workers' sockets through the primary),
// `stats` and `gc` are gathered from every worker. Registered before anything imports drizzle.
import '../../src/platform/module-hooks.ts'
import cluster, { type Worker } from 'node:cluster'
import { readdirSync } from 'node:fs'
import { serveRpc } from './ws-rpc.ts'

const { loadConfig } = await import('../../src/config.ts')

interface BenchAsk { bench: 'publish' | 'stats' | 'gc', id: number, projectId?: string, round?: number }
interface BenchAnswer { bench: 'answer', id: number, body: Record<string, unknown> }

const config = loadConfig(process.env, { filesOff: true })

if (cluster.isWorker) {
  const { runWorker } = await import('../../src/cluster/worker.ts')
  const server = await runWorker(config)
  const app = server.app
  process.on('message', (msg: BenchAsk) => {
    if (typeof msg !== 'object' || msg === null || !('bench' in msg)) return
    const answer = (body: Record<string, unknown>) => { process.send?.({ bench: 'answer', id: msg.id, body } satisfies BenchAnswer) }
    if (msg.bench === 'gc') { globalThis.gc?.(); answer({}) }
    // Open descriptors (Linux): each worker must stay under the sandbox's 20,000 a process.
    const descriptors = () => { try { return readdirSync('/proc/self/fd').length } catch { return -1 } }
    if (msg.bench === 'stats') answer({ sockets: app.realtime.sockets(), descriptors: descriptors(), memory: process.memoryUsage() })
    if (msg.bench === 'publish') {
      const sentAt = Date.now()
      app.db.transaction(async (tx) => {
        await app.events.record({ type: 'bench.ping', aggregate: 'bench:ws', channels: [`project:${String(msg.projectId)}`], data: { sentAt, round: Number(msg.round) } }, tx)
      }).then(async () => {
        const committedAt = Date.now()
        const relayed = await app.events.relayOnce()
        answer({ sentAt, committedAt, relayedAt: Date.now(), relayed })
      }, (err: unknown) => { answer({ error: String(err) }) })
    }
  })
  const address = app.server.address()
  process.send?.({ bench: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
} else {
  try {
    const { runPrimary } = await import('../../src/cluster/primary.ts')
    let nextId = 1
    const waiting = new Map<number, (body: Record<string, unknown>) => void>()
    const listening = new Promise<number>((resolve) => {
      let ready = 0
      cluster.on('message', (_worker, msg: { bench?: string, port?: number, id?: number, body?: Record<string, unknown> }) => {
        if (msg.bench === 'listening' && ++ready === config.workers) resolve(msg.port ?? 0)
        if (msg.bench === 'answer') { waiting.get(msg.id!)?.(msg.body ?? {}); waiting.delete(msg.id!) }
      })
    })
    const { shutdown } = await runPrimary(config, Number(config.workers))
    const port = await listening
    const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
    const ask = (worker: Worker, body: Omit<BenchAsk, 'id'>) => new Promise<Record<string, unknown>>((resolve) => {
      const id = nextId++
      waiting.set(id, resolve)
      worker.send({ ...body, id })
    })
    process.send?.({ type: 'ready', port, url: `ws://127.0.0.1:${port}/api/v1/realtime` })
    serveRpc({
      publish: async (req) => await ask(workers()[0]!, { bench: 'publish', projectId: String(req.projectId), round: Number(req.round) }),
      stats: async () => {
        const all = await Promise.all(workers().map((w) => ask(w, { bench: 'stats' })))
        const heapUsed = all.reduce((n, s) => n + (s.memory as NodeJS.MemoryUsage).heapUsed, process.memoryUsage().heapUsed)
        const perWorker = all.map((s) => ({ sockets: Number(s.sockets), descriptors: Number(s.descriptors) }))
        return { sockets: all.reduce((n, s) => n + Number(s.sockets), 0), perWorker, memory: { ...process.memoryUsage(), heapUsed } }
      },
      gc: async () => {
        globalThis.gc?.()
        await Promise.all(workers().map((w) => ask(w, { bench: 'gc' })))
        return { gc: typeof globalThis.gc === 'function' }
      }
    }, async () => { await shutdown('bench stop') })
  } catch (err) {
    process.send?.({ type: 'failed', message: (err as Error).stack ?? String(err) })
    process.exit(1)
  }
}
