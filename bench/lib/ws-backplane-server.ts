// Child process: one Backplane node through start() (the production pipeline), plus the bench's
// requests over IPC: `setup` makes the bench users, their project and access tokens; `publish`
// records one event in the outbox and relays it; `stats` reports the open sockets and memory.
// Registered before anything imports drizzle, exactly as the CLI entry (src/main.ts) does.
import '../../src/platform/module-hooks.ts'
import { writeHeapSnapshot } from 'node:v8'
import pg from 'pg'
import type { RunningServer } from '../../src/server.ts'
import { serveRpc } from './ws-rpc.ts'

const { loadConfig } = await import('../../src/config.ts')
const { createLogger } = await import('../../src/platform/logging.ts')
const { start } = await import('../../src/server.ts')
const { newId } = await import('../../src/lib/ids.ts')

let server: RunningServer | undefined

/**
 * setup creates `users` bench users in one statement (no password: they never log in), one
 * project they all view, and for each user a real session (app.sessions.create) and an access
 * token signed by the node's signing keys: the same token a login returns, without the argon2
 * hash per user that would dominate the setup.
 */
async function setup (app: RunningServer['app'], databaseUrl: string, users: number): Promise<Record<string, unknown>> {
  const run = newId().slice(-12)
  const ids = Array.from({ length: users }, () => newId())
  const projectId = newId()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('INSERT INTO users (id, email, name) SELECT id, \'bench-\' || $2 || \'-\' || n || \'@bench.test\', \'bench\' FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)', [ids, run])
    await client.query('INSERT INTO projects (id, name, owner_id) VALUES ($1, $2, $3)', [projectId, `bench ${run}`, ids[0]])
    await client.query('INSERT INTO project_members (id, project_id, user_id, role) SELECT gen_random_uuid(), $1, id, CASE WHEN id = $3::uuid THEN \'owner\' ELSE \'viewer\' END FROM unnest($2::uuid[]) AS u(id)', [projectId, ids, ids[0]])
  } finally {
    await client.end()
  }
  const audience = app.config.auth.audience
  const tokens: string[] = []
  for (const userId of ids) {
    const { sessionId } = await app.sessions.create({ userId, audience, userAgent: 'bench/ws' })
    tokens.push((await app.signingKeys.sign({ sub: userId, sid: sessionId }, audience)).token)
  }
  // The sessions recorded session.created events: publish them now so they are not in a later relay.
  while (await app.events.relayOnce() > 0) { /* drain */ }
  return { projectId, tokens }
}

try {
  const config = loadConfig(process.env, { filesOff: true })
  const logger = createLogger(config)
  server = await start(config, { logger })
  const running = server
  const app = running.app
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.send?.({ type: 'ready', port, url: `ws://127.0.0.1:${port}/api/v1/realtime` })
  serveRpc({
    setup: async (req) => await setup(app, running.database.url, req.users as number),
    publish: async (req) => {
      const sentAt = Date.now()
      const channel = `project:${String(req.projectId)}`
      await app.db.transaction(async (tx) => {
        await app.events.record({ type: 'bench.ping', aggregate: 'bench:ws', channels: [channel], data: { sentAt, round: Number(req.round) } }, tx)
      })
      const committedAt = Date.now()
      const relayed = await app.events.relayOnce()
      return { sentAt, committedAt, relayedAt: Date.now(), relayed }
    },
    stats: () => ({ sockets: app.realtime.sockets(), memory: process.memoryUsage() }),
    gc: () => { globalThis.gc?.(); return { gc: typeof globalThis.gc === 'function' } },
    // Diagnosis: where the heap goes (the file is written next to the working directory unless a path is given).
    heapSnapshot: (req) => ({ file: writeHeapSnapshot(typeof req.file === 'string' ? req.file : undefined) })
  }, async () => { await running.shutdown() })
} catch (err) {
  process.send?.({ type: 'failed', message: (err as Error).stack ?? String(err) })
  await server?.shutdown().catch(() => {})
  process.exit(1)
}
