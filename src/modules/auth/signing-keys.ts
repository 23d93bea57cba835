import { randomBytes } from 'node:crypto'
import { desc, eq, gt, or } from 'drizzle-orm'
import { exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose'
import type { Database } from '../../platform/db.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import { signingKeys } from './table.ts'

const ALG = 'EdDSA'
const KID = /^[A-Za-z0-9_-]{1,64}$/
// Retired keys keep verifying well past the longest access token lifetime.
const RETIRED_KEEP_MS = 24 * 60 * 60 * 1000
const RELOAD_EVERY_MS = 60_000
const UNKNOWN_KID_RELOAD_GAP_MS = 5_000
const VERIFIED_MAX = 10_000

type KeyLike = Awaited<ReturnType<typeof importPKCS8>>
interface LoadedKey { kid: string, publicJwk: JWK, verifyKey: KeyLike, signKey?: KeyLike, active: boolean }

/** AccessClaims are what Backplane puts in an access token besides iss, aud, exp and iat. */
export interface AccessClaims { sub: string, sid: string, roles?: string[], /** authTime is when the user last authenticated in this session (seconds; OIDC auth_time). */ authTime?: number }

/**
 * createSigningKeys keeps the Ed25519 signing keys: one active key signs, retired ones still
 * verify for a day, every node reloads them regularly and when it meets an unknown `kid`.
 */
export function createSigningKeys ({ db, box, issuer, ttlSeconds }: { db: Database, box: SecretBox, issuer: string, ttlSeconds: number }) {
  let keys = new Map<string, LoadedKey>()
  // An Ed25519 verification costs ~250 µs of CPU here, and a client sends the same access token on
  // every request for 15 minutes. Tokens whose signature and claims checked out are remembered (the
  // exact string, so any tampering misses) until they expire; the session and principal checks
  // still run on every request, so revocation stays immediate.
  const verified = new Map<string, JWTPayload & { sub: string, sid: string }>()
  let loadedAt = 0
  let lastUnknownReload = 0

  async function load (): Promise<void> {
    const since = new Date(Date.now() - RETIRED_KEEP_MS)
    const rows = await db.select().from(signingKeys)
      .where(or(eq(signingKeys.status, 'active'), gt(signingKeys.retiredAt, since)))
      .orderBy(desc(signingKeys.createdAt))
    const next = new Map<string, LoadedKey>()
    for (const row of rows) {
      const jwk = row.publicJwk as JWK
      next.set(row.kid, {
        kid: row.kid,
        publicJwk: jwk,
        verifyKey: await importJWK(jwk, ALG) as KeyLike,
        signKey: row.status === 'active' ? await importPKCS8(box.open(row.privateKeySealed), ALG) : undefined,
        active: row.status === 'active'
      })
    }
    keys = next
    loadedAt = Date.now()
  }

  // Requests that find the keys due for a reload share one load: without this, every request in
  // flight when the minute passes ran its own query (20 parallel requests = 20 reads of the table).
  let loading: Promise<void> | undefined
  function sharedLoad (): Promise<void> {
    loading ??= load().finally(() => { loading = undefined })
    return loading
  }

  async function fresh (): Promise<void> {
    if (Date.now() - loadedAt > RELOAD_EVERY_MS) await sharedLoad()
  }

  async function newKeyRow () {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true })
    const kid = randomBytes(12).toString('base64url')
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' }
    return { kid, alg: ALG, publicJwk, privateKeySealed: box.seal(await exportPKCS8(privateKey)), status: 'active' as const }
  }

  // The first key is made when first needed, not at start-up: building the app (e.g. for
  // `backplane openapi`) must not need a database.
  async function ensureActive (): Promise<void> {
    await load()
    if ([...keys.values()].some((k) => k.active)) return
    await db.insert(signingKeys).values(await newKeyRow()).onConflictDoNothing()
    await load()
  }

  return {
    /** ensureActive creates the first key if there is none (safe when several nodes start at once). */
    ensureActive,
    /** rotate makes a new active key and retires the old one; tokens signed before stay valid. */
    async rotate (): Promise<string> {
      const row = await newKeyRow()
      await db.transaction(async (tx) => {
        await tx.update(signingKeys).set({ status: 'retired', retiredAt: new Date() }).where(eq(signingKeys.status, 'active'))
        await tx.insert(signingKeys).values(row)
      })
      await load()
      return row.kid
    },
    /** jwks is the public key set published at /.well-known/jwks.json. */
    async jwks (): Promise<{ keys: JWK[] }> {
      await fresh()
      if (keys.size === 0) await ensureActive()
      return { keys: [...keys.values()].map((k) => k.publicJwk) }
    },
    /** sign issues an access token for an audience. */
    async sign (claims: AccessClaims, audience: string): Promise<{ token: string, expiresAt: Date }> {
      await fresh()
      let key = [...keys.values()].find((k) => k.active && k.signKey)
      if (!key) { await ensureActive(); key = [...keys.values()].find((k) => k.active && k.signKey) }
      if (!key?.signKey) throw new Error('no active signing key')
      const now = Math.floor(Date.now() / 1000)
      const token = await new SignJWT(claims.authTime === undefined ? { sid: claims.sid } : { sid: claims.sid, auth_time: claims.authTime })
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'at+jwt' })
        .setSubject(claims.sub).setIssuer(issuer).setAudience(audience)
        .setIssuedAt(now).setExpirationTime(now + ttlSeconds).setJti(randomBytes(9).toString('base64url'))
        .sign(key.signKey)
      return { token, expiresAt: new Date((now + ttlSeconds) * 1000) }
    },
    /**
     * verify checks signature (EdDSA only, a known kid only), type, issuer, audience and times
     * (60 s skew); it throws on anything wrong and never fetches a key named by the token.
     */
    async verify (token: string, audience: string | string[]): Promise<JWTPayload & { sub: string, sid: string }> {
      const hit = verified.get(token)
      if (hit) {
        // Same bytes, already verified: only the time and audience can have changed.
        const audiences = Array.isArray(audience) ? audience : [audience]
        const aud = Array.isArray(hit.aud) ? hit.aud : [hit.aud]
        if (hit.exp! * 1000 > Date.now() && aud.some((a) => a !== undefined && audiences.includes(a))) return hit
        verified.delete(token)
      }
      await fresh()
      const { payload } = await jwtVerify(token, async (header) => {
        const kid = header.kid
        if (typeof kid !== 'string' || !KID.test(kid)) throw new Error('bad kid')
        let key = keys.get(kid)
        if (!key && Date.now() - lastUnknownReload > UNKNOWN_KID_RELOAD_GAP_MS) {
          lastUnknownReload = Date.now()
          await sharedLoad()
          key = keys.get(kid)
        }
        if (!key) throw new Error('unknown kid')
        return key.verifyKey
      }, { algorithms: [ALG], issuer, audience, typ: 'at+jwt', clockTolerance: 60, requiredClaims: ['exp', 'iat', 'sub', 'sid'] })
      if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + 60) throw new Error('iat in the future')
      if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') throw new Error('bad claims')
      const claims = payload as JWTPayload & { sub: string, sid: string }
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!)
      verified.set(token, claims)
      return claims
    }
  }
}

/** SigningKeys is the signing key service. */
export type SigningKeys = ReturnType<typeof createSigningKeys>
