// Child process: a bare Fastify 5 server (logger off, no plugins) with one authenticated read: verify
// the access token with jose against Backplane's published keys, read the user row with Drizzle.
// Registered before anything imports drizzle, as in lib/backplane-server.ts, so both load the same build.
import '../../src/platform/module-hooks.ts'
import Fastify from 'fastify'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import pg from 'pg'
import { onStop, report } from './servers.ts'

const { eq } = await import('drizzle-orm')
const { drizzle } = await import('drizzle-orm/node-postgres')
const { users } = await import('../../src/modules/users/table.ts')
const { UserSchema } = await import('../../src/modules/users/schemas.ts')

const env = process.env
const jwks = createLocalJWKSet(JSON.parse(env.BENCH_JWKS ?? '{"keys":[]}') as JSONWebKeySet)
const issuer = env.BENCH_ISSUER ?? ''
const audience = env.BENCH_AUDIENCE ?? ''
const pool = new pg.Pool({ connectionString: env.BENCH_DATABASE_URL, max: Number(env.BENCH_POOL_MAX ?? 10) })
const db = drizzle(pool)
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/

const Failure = { type: 'object', properties: { error: { type: 'string' } } } as const

const app = Fastify({ logger: false })
app.get('/api/v1/users/me', { schema: { response: { 200: UserSchema, 401: Failure, 404: Failure } } }, async (request, reply) => {
  const match = BEARER.exec(request.headers.authorization ?? '')
  if (!match) return reply.code(401).send({ error: 'unauthorized' })
  let sub: string
  try {
    // The same checks as Backplane's signing keys: EdDSA only, type, issuer, audience, times, claims.
    const { payload } = await jwtVerify(match[1]!, jwks, { algorithms: ['EdDSA'], issuer, audience, typ: 'at+jwt', clockTolerance: 60, requiredClaims: ['exp', 'iat', 'sub', 'sid'] })
    sub = payload.sub!
  } catch {
    return reply.code(401).send({ error: 'unauthorized' })
  }
  const [row] = await db.select().from(users).where(eq(users.id, sub)).limit(1)
  if (!row || row.deletedAt) return reply.code(404).send({ error: 'not found' })
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
})

try {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  report({ type: 'ready', url: `http://127.0.0.1:${port}` })
  onStop(async () => {
    await app.close()
    await pool.end()
  })
} catch (err) {
  report({ type: 'failed', message: (err as Error).message })
  process.exit(1)
}
