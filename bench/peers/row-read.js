// The work every peer server does on GET /api/v1/users/me, whatever its framework: verify an HS256
// access token (jose, on every request, no cache) and read the user row by id through a Drizzle
// statement prepared once, over a pg pool of the same size as Backplane's. Plain JavaScript: the
// peers run from this folder with their own dependencies, never the project's.
import { eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { jwtVerify } from 'jose'
import pg from 'pg'

/** ROUTE is the one route every peer serves. */
export const ROUTE = '/api/v1/users/me'

// The users table as migrations/ creates it (src/modules/users/table.ts), every column selected as Backplane does.
const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  email: text('email').notNull(),
  name: text('name').notNull(),
  passwordHash: text('password_hash'),
  roles: text('roles').array().notNull(),
  status: text('status').notNull(),
  emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
  failedLogins: integer('failed_logins').notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  deletedAt: timestamp('deleted_at', { withTimezone: true })
})

const env = process.env
const secret = new TextEncoder().encode(env.BENCH_HS256_SECRET ?? '')
const verifyOptions = { algorithms: ['HS256'], issuer: env.BENCH_ISSUER, audience: env.BENCH_AUDIENCE, clockTolerance: 60, requiredClaims: ['exp', 'iat', 'sub'] }
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/

/** pool is the peer's PostgreSQL pool (BENCH_POOL_MAX connections, as Backplane's DATABASE_POOL_MAX). */
export const pool = new pg.Pool({ connectionString: env.BENCH_DATABASE_URL, max: Number(env.BENCH_POOL_MAX ?? 10) })

// Prepared once: the statement is named and built at start, each request only binds the id.
const userById = drizzle(pool).select().from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('bench_user_by_id')

/** subjectOf verifies the bearer token of an Authorization header; it returns the user id, or undefined when refused. */
export async function subjectOf (authorization) {
  const match = BEARER.exec(authorization ?? '')
  if (!match) return undefined
  try {
    const { payload } = await jwtVerify(match[1], secret, verifyOptions)
    return payload.sub
  } catch {
    return undefined
  }
}

/** readUser reads a live user by id and returns its public view (Backplane's User, same keys in the same order), or undefined. */
export async function readUser (id) {
  // The peer's own mapping, as its authors would write it (not Backplane's users/view.ts): a peer shares no code with Backplane.
  const [row] = await userById.execute({ id })
  if (!row || row.deletedAt) return undefined
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles,
    status: row.status,
    emailVerified: row.emailVerifiedAt !== null,
    createdAt: row.createdAt.toISOString(),
    lastLoginAt: row.lastLoginAt ? row.lastLoginAt.toISOString() : null
  }
}

/** listening reports the server's URL to the benchmark parent and closes the server and the pool when told to stop. */
export async function listening (port, close) {
  const { onStop, report } = await import('../lib/servers.ts')
  report({ type: 'ready', url: `http://127.0.0.1:${port}` })
  onStop(async () => {
    await close()
    await pool.end()
  })
}

/** failed tells the parent the peer could not start, and exits. */
export async function failed (err) {
  const { report } = await import('../lib/servers.ts')
  report({ type: 'failed', message: err?.stack ?? String(err) })
  process.exit(1)
}
