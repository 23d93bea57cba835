import type { FastifyBaseLogger } from 'fastify'
import type { CorsOrigins } from '../../platform/cors-origins.ts'
import type { PubSub } from '../../platform/pubsub.ts'
import type { FrontendRow } from './table.ts'

/** REGISTRY_TOPIC is the pubsub topic on which a node announces a registry change to every node. */
export const REGISTRY_TOPIC = 'frontends.changed'

/** LiveFrontend is what the runtime knows of an enabled frontend. */
export interface LiveFrontend {
  id: string
  name: string
  rateTier: string
  origins: ReadonlySet<string>
}

interface Snapshot {
  byId: Map<string, LiveFrontend>
  /** namesByOrigin lists, per origin, the names of the enabled frontends that own it. */
  namesByOrigin: Map<string, string[]>
  names: string[]
}

const EMPTY: Snapshot = { byId: new Map(), namesByOrigin: new Map(), names: [] }

/**
 * createFrontendRegistry keeps this node's in-memory copy of the enabled frontends and feeds their
 * origins to the CORS allow-list. It reloads when any node announces a change on pubsub (within
 * milliseconds), after a change made here (before the change's reply), and every `reloadMs` as a
 * safety net for a missed announcement. Reloads are serialised and coalesced.
 */
export function createFrontendRegistry ({ load, corsOrigins, pubsub, log, reloadMs }: {
  load: () => Promise<FrontendRow[]>
  corsOrigins: CorsOrigins
  pubsub: PubSub
  log: FastifyBaseLogger
  reloadMs: number
}) {
  let snapshot = EMPTY
  let tail: Promise<void> = Promise.resolve()
  let queued: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let unsubscribe: (() => Promise<void>) | undefined
  let lastMissReload = 0

  async function loadOnce (): Promise<void> {
    const rows = await load()
    const byId = new Map<string, LiveFrontend>()
    const namesByOrigin = new Map<string, string[]>()
    for (const row of rows) {
      if (!row.enabled) continue
      byId.set(row.id, { id: row.id, name: row.name, rateTier: row.rateTier, origins: new Set(row.origins) })
      for (const origin of row.origins) namesByOrigin.set(origin, [...(namesByOrigin.get(origin) ?? []), row.name])
    }
    snapshot = { byId, namesByOrigin, names: [...byId.values()].map((f) => f.name) }
    corsOrigins.setRegistered(namesByOrigin.keys())
  }

  /** reload reads the registry again; a call made while a read runs gets a read that starts after it. */
  function reload (): Promise<void> {
    if (queued) return queued
    const next = tail.then(() => {
      queued = undefined
      return loadOnce()
    })
    queued = next
    tail = next.catch(() => {})
    return next
  }

  // Pubsub, the timer, a change and the first request reload this way: a failure is logged, never thrown.
  const refresh = (): Promise<void> => reload().catch((err: unknown) => {
    log.warn({ err: { message: (err as Error).message } }, 'frontends: could not reload the registry')
  })
  const refreshLater = () => { refresh().catch(() => {}) }

  return {
    /**
     * start listens for other nodes' changes and starts the periodic reload. The first load is the
     * CORS list's (`corsOrigins.loadWith(registry.refresh)`): before the first request, not at start,
     * so a process that serves nothing (`backplane openapi`) never reads the database.
     */
    async start (): Promise<void> {
      unsubscribe = await pubsub.subscribe(REGISTRY_TOPIC, refreshLater)
      timer = setInterval(refreshLater, reloadMs)
      timer.unref()
    },

    refresh,

    async stop (): Promise<void> {
      clearInterval(timer)
      await unsubscribe?.()
    },

    /** changed reloads this node now and tells the others; a failed announcement is covered by their periodic reload. */
    async changed (): Promise<void> {
      await refresh()
      await pubsub.publish(REGISTRY_TOPIC, String(Date.now())).catch((err: unknown) => {
        log.warn({ err: { message: (err as Error).message } }, 'frontends: could not announce a registry change; other nodes pick it up on their periodic reload')
      })
    },

    /** byId returns an enabled frontend; one unknown here may be new on another node, so it reloads (at most once a second) before answering. */
    async byId (id: string): Promise<LiveFrontend | undefined> {
      const live = snapshot.byId.get(id)
      if (live || Date.now() - lastMissReload < 1000) return live
      lastMissReload = Date.now()
      await refresh()
      return snapshot.byId.get(id)
    },

    /** ownersOf names the enabled frontends that own an origin. */
    ownersOf: (origin: string): readonly string[] => snapshot.namesByOrigin.get(origin) ?? [],

    /** names lists the enabled frontends. */
    names: (): readonly string[] => snapshot.names
  }
}

/** FrontendRegistry is a node's live view of the registry. */
export type FrontendRegistry = ReturnType<typeof createFrontendRegistry>
