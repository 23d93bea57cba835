import { desc, eq, lt, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'
import { newId } from '../../lib/ids.ts'
import { nodes } from './table.ts'

/** BEAT_MS is how often a node touches its presence row; a row unseen for LIVE_BEATS beats is a node gone. */
export const BEAT_MS = 10_000
const LIVE_BEATS = 3
const MAX_NODES = 100

/** NodeState is what a node says of itself at each beat. */
export interface NodeState { name: string, version: string, startedAt: Date, ready: boolean }

/** LiveNode is one node that beat recently, as the overview lists it. */
export interface LiveNode { instance: string, id: string, version: string, uptimeSeconds: number, ready: boolean, seenSecondsAgo: number }

/**
 * createPresence keeps this node's row in `nodes` while it listens: one upsert now and one per
 * beat (rows gone for a day are swept on the way), deleted on a clean stop. `live()` lists every
 * node seen within the last few beats, compared on the database's clock so nodes' clocks may differ.
 */
export function createPresence ({ db, state, beatMs = BEAT_MS, onError }: {
  db: Database
  state: () => Promise<NodeState>
  beatMs?: number
  onError: (err: unknown) => void
}) {
  const instance = newId()
  let timer: NodeJS.Timeout | undefined
  let started = false

  async function beat (): Promise<void> {
    const s = await state()
    const row = { name: s.name, version: s.version, startedAt: s.startedAt, ready: s.ready }
    await db.insert(nodes).values({ id: instance, ...row, seenAt: sql`now()` })
      .onConflictDoUpdate({ target: nodes.id, set: { ...row, seenAt: sql`now()` } })
    await db.delete(nodes).where(lt(nodes.seenAt, sql`now() - interval '1 day'`))
  }

  return {
    /** instance is this run's id in `nodes` (a new one at each start). */
    instance,
    beat,
    /** start beats now and every beatMs; a failed beat is reported and retried at the next one. */
    async start (): Promise<void> {
      started = true
      await beat().catch(onError)
      timer = setInterval(() => { beat().catch(onError) }, beatMs)
      timer.unref()
    },
    /** stop ends the beats and removes this node's row: the others stop listing it at once. */
    async stop (): Promise<void> {
      clearInterval(timer)
      // A process that never served (a CLI command, an inject()-only app) has no row and must not touch the database.
      if (!started) return
      started = false
      await db.delete(nodes).where(eq(nodes.id, instance)).catch(onError)
    },
    /** live lists the nodes seen within the last few beats, most recently started first. */
    async live (): Promise<LiveNode[]> {
      const age = sql<number>`extract(epoch from now() - ${nodes.seenAt})::float8`
      const up = sql<number>`extract(epoch from now() - ${nodes.startedAt})::float8`
      const rows = await db.select({ id: nodes.id, name: nodes.name, version: nodes.version, ready: nodes.ready, age, up }).from(nodes)
        .where(sql`${nodes.seenAt} > now() - make_interval(secs => ${(beatMs * LIVE_BEATS) / 1000})`)
        .orderBy(desc(nodes.startedAt)).limit(MAX_NODES)
      return rows.map((r) => ({
        instance: r.id,
        id: r.name,
        version: r.version,
        ready: r.ready,
        uptimeSeconds: Math.max(0, Math.floor(r.up)),
        seenSecondsAgo: Math.max(0, Math.floor(r.age))
      }))
    }
  }
}

/** Presence is a node's presence row and the list of live nodes. */
export type Presence = ReturnType<typeof createPresence>
