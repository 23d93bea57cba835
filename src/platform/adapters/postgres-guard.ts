import type pg from 'pg'
import { isBrokenCircuitError } from 'cockatiel'
import { AppError, platformErrors } from '../errors.ts'
import type { Breaker } from '../breakers.ts'

/** databaseUnavailable is the error every guarded wait ends in: 503 with Retry-After, whatever went wrong underneath. */
export const databaseUnavailable = (cause?: unknown) =>
  platformErrors.SERVICE_UNAVAILABLE('The database is unavailable; retry shortly', { headers: { 'retry-after': '1' }, cause })

// Node socket errors and PostgreSQL's "cannot connect now / shutting down / connection lost" classes.
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
const SQLSTATE_UNAVAILABLE = /^(08|57P0[1-3]|53300)/
const CLIENT_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|not queryable|Query read timeout/i

/** isDatabaseUnavailable tells an outage (no connection, no answer) from an answer the database gave (a constraint, a syntax error). */
export function isDatabaseUnavailable (err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'SERVICE_UNAVAILABLE'
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && (NODE_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true
  return err instanceof Error && CLIENT_MESSAGES.test(err.message)
}

/** GuardTimings say when a wait becomes suspicious and how long the database then has to prove it is alive. */
export interface GuardTimings { waitMs: number, probeMs: number }

/**
 * createLivenessProbe answers whether PostgreSQL answers at all, on a fresh connection of its own
 * (a frozen server accepts the TCP connection but never greets it). Concurrent askers share one
 * probe, and an answer is reused for half a second.
 */
export function createLivenessProbe (url: string, probeMs: number): () => Promise<boolean> {
  let current: Promise<boolean> | undefined
  let answeredAt = 0
  return () => {
    if (current && Date.now() - answeredAt < 500) return current
    if (current && answeredAt === 0) return current
    answeredAt = 0
    const probe = (async () => {
      const { default: pg } = await import('pg')
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: probeMs, query_timeout: probeMs, application_name: 'backplane-probe' })
      client.on('error', () => {})
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          client.connect().then(() => client.query('SELECT 1')),
          new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('probe timeout')) }, probeMs) })
        ])
        return true
      } catch {
        return false
      } finally {
        clearTimeout(timer)
        // A frozen server never answers the goodbye either: do not wait for it.
        client.end().catch(() => {})
        answeredAt = Date.now()
      }
    })()
    current = probe
    return probe
  }
}

/** Wait is one guarded wait in flight: when it is next due a look, and how to end it if the database is gone. */
interface Wait { dueAt: number, fail: (err: unknown) => void, onLate: () => void, asking: boolean }

/**
 * createWatch bounds waits with one sweeping timer for all of them: a wait past `waitMs` asks the
 * probe; a slow statement on a live server keeps waiting (its own statement_timeout bounds it), a
 * silent server fails the wait with a 503. A timer and a Promise.race per statement (two a pooled
 * query) cost more than the statement's own JavaScript on the hot path; the sweep runs every
 * `waitMs / 8` only while a wait is in flight, so a wait is looked at between `waitMs` and
 * `waitMs * 1.125` after it began.
 */
function createWatch (timings: GuardTimings, alive: () => Promise<boolean>) {
  const waits = new Set<Wait>()
  let timer: NodeJS.Timeout | undefined
  const sweep = () => {
    if (waits.size === 0) { clearInterval(timer); timer = undefined; return }
    const now = Date.now()
    for (const wait of waits) {
      if (wait.asking || wait.dueAt > now) continue
      wait.asking = true
      alive().then((ok) => {
        wait.asking = false
        if (!waits.has(wait)) return
        if (ok) { wait.dueAt = Date.now() + timings.waitMs; return }
        waits.delete(wait)
        wait.onLate()
        wait.fail(databaseUnavailable(new Error('the database did not answer')))
      }, () => { wait.asking = false })
    }
  }
  return function within<T> (work: Promise<T>, onLate: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const wait: Wait = { dueAt: Date.now() + timings.waitMs, fail: reject, onLate, asking: false }
      waits.add(wait)
      timer ??= setInterval(sweep, Math.max(10, timings.waitMs / 8)).unref()
      work.then((value) => { waits.delete(wait); resolve(value) }, (err: unknown) => { waits.delete(wait); reject(err) })
    })
  }
}

type Queryable = { query: (...args: unknown[]) => Promise<unknown> }
interface Guarded { broken?: boolean, guarded?: boolean, retire?: () => void }

/**
 * guardPool bounds every wait on the pool (a connection, one statement's answer) and runs every
 * statement through the database breaker: a wait longer than `waitMs` asks the liveness probe, and
 * when PostgreSQL is frozen or gone the caller gets a 503 with Retry-After within
 * `waitMs + probeMs`; once the breaker is open, at once. A client that failed that way never serves
 * anyone again. Callback-style calls (none in Backplane) pass through unguarded.
 */
export function guardPool (pool: pg.Pool, breaker: Breaker, timings: GuardTimings, alive: () => Promise<boolean>): void {
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>
  const unavailable = (err: unknown) => isBrokenCircuitError(err) || isDatabaseUnavailable(err)
  const within = createWatch(timings, alive)
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await breaker.execute(fn)
    } catch (err) {
      throw unavailable(err) && !(err instanceof AppError) ? databaseUnavailable(err) : err
    }
  }

  function guardClient (client: pg.PoolClient): pg.PoolClient {
    const state = client as pg.PoolClient & Guarded
    if (!state.guarded) {
      state.guarded = true
      // pg-pool listens for errors only while a client is idle, and its own query() while one runs;
      // a connection lost while a guarded caller holds the client also fails that caller's
      // statement, so the event itself needs only a listener (without one it would crash the process).
      client.on('error', () => {})
      const query = (client.query as Queryable['query']).bind(client)
      ;(client as unknown as Queryable).query = async (...args: unknown[]) => {
        if (hasCallback(args)) return query(...args)
        if (state.broken) throw databaseUnavailable()
        try {
          return await run(() => within(query(...args), () => { state.broken = true }))
        } catch (err) {
          if (err instanceof AppError && err.code === 'SERVICE_UNAVAILABLE') state.retire?.()
          throw err
        }
      }
    }
    // pg-pool hands every checkout a fresh release function. Drizzle sends BEGIN outside its
    // try/finally, so when BEGIN fails it never releases the client: a client whose statement failed
    // for want of a database is destroyed here at once, and the caller's own release does nothing.
    const release = client.release.bind(client)
    let released = false
    state.retire = () => {
      state.broken = true
      if (!released) { released = true; release(true) }
    }
    // A connection must never go back to the pool inside a transaction: a multi-statement
    // `BEGIN; …; COMMIT` sent through pool.query (pg-boss sends its schema and maintenance commands
    // so) that fails half-way leaves it open and aborted, and every later user of that connection
    // got "current transaction is aborted" (25P02, a 500) until the process ended. Such a
    // connection is destroyed instead ('T' in a transaction, 'E' in a failed one, 'I' idle).
    client.release = (err?: Error | boolean) => {
      if (released) return
      released = true
      const status = client.getTransactionStatus()
      return release(state.broken || status === 'T' || status === 'E' ? true : err)
    }
    return client
  }

  // Handing out an idle client proves nothing about the server, so a connect is no breaker trial:
  // refused while the breaker is open, and counted only when it fails.
  const guardedConnect = async (): Promise<pg.PoolClient> => {
    if (breaker.refusing()) throw databaseUnavailable()
    let late = false
    const pending = connect()
    // A connection that arrives after the caller gave up goes straight back to the pool.
    pending.then((c) => { if (late) c.release() }, () => {})
    try {
      return guardClient(await within(pending, () => { late = true }))
    } catch (err) {
      if (!unavailable(err)) throw err
      await breaker.execute(() => Promise.reject(err)).catch(() => {})
      throw err instanceof AppError ? err : databaseUnavailable(err)
    }
  }

  ;(pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => {
    if (typeof args[0] === 'function') return (connect as (...a: unknown[]) => unknown)(...args)
    return guardedConnect()
  }
  // A pooled statement (every Drizzle read outside a transaction) is one guarded wait around
  // pg-pool's own checkout, statement and release: pg-pool drives them through the callback API,
  // which the wrappers above pass through, so the statement is counted by the breaker once. A client
  // whose statement never answers is freed by pg's query_timeout, which destroys it.
  const poolQuery = (pool.query as Queryable['query']).bind(pool)
  ;(pool as unknown as Queryable).query = (...args: unknown[]) => {
    if (hasCallback(args)) return poolQuery(...args)
    if (breaker.refusing()) return Promise.reject(databaseUnavailable())
    return run(() => within(poolQuery(...args), ignoreLate))
  }
}

const ignoreLate = () => {}

function hasCallback (args: unknown[]): boolean {
  for (const a of args) if (typeof a === 'function') return true
  return false
}
