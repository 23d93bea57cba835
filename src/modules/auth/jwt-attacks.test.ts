import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { getTableName } from 'drizzle-orm'
import { base64url, exportJWK, generateKeyPair, importPKCS8, SignJWT, UnsecuredJWT, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSecretBox } from '../../lib/secret-box.ts'
import type { SecurityEvent } from '../../platform/security-events.ts'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { makeUser, strongPassword, uniqueEmail, type TestUser } from '../../../test/helpers/auth.ts'
import { scanResponses } from '../../../test/helpers/leaks.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

// Attack tokens are built with jose. Tokens with a *valid* signature and bad claims are signed with
// the app's real active key: the test config's BACKPLANE_SECRET is known, so the test opens the
// sealed private key exactly as the app does (the same SecretBox purpose). That proves the claim
// checks themselves, under the very key production tokens use, without planting extra keys.

type Key = Parameters<SignJWT['sign']>[0]
let t: TestApp
let victim: TestUser
let other: TestUser
let realKid: string
let realKey: Key
let realJwk: JWK
let canary: Server
let canaryUrl: string
let canaryHits = 0
let reference: ReturnType<typeof generic>

const now = () => Math.floor(Date.now() / 1000)
const b64json = (value: unknown) => base64url.encode(JSON.stringify(value))
const parts = (token: string) => token.split('.') as [string, string, string]

function claims (overrides: Record<string, unknown> = {}): JWTPayload {
  const base: Record<string, unknown> = { sub: victim.id, sid: victim.sessionId, iss: 'backplane', aud: 'backplane', iat: now(), exp: now() + 600, jti: randomBytes(6).toString('hex') }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k]
    else base[k] = v
  }
  return base
}

function sign (payload: JWTPayload, header: Partial<JWTHeaderParameters> = {}, key: Key = realKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: realKid, typ: 'at+jwt', ...header } as JWTHeaderParameters).sign(key)
}

function me (token: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}` } })
}

// Every bad credential gets the same 401 body (nothing tells an attacker which check failed).
function expectRejected (res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(401)
  expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(generic(res)).toEqual(reference)
}

// generic is the part of a problem body that must not vary (instance and requestId always do).
function generic (res: LightMyRequestResponse) {
  const { type, title, status, detail, code, errors } = res.json()
  return { type, title, status, detail, code, errors }
}

beforeAll(async () => {
  t = await createTestApp()
  scanResponses(t.app)
  victim = await makeUser(t.app)
  other = await makeUser(t.app)
  const { rows } = await adminQuery(t.db.url, "SELECT kid, public_jwk, private_key_sealed FROM signing_keys WHERE status = 'active'")
  realKid = rows[0].kid
  realJwk = rows[0].public_jwk
  realKey = await importPKCS8(createSecretBox(t.app.config.secret!, 'signing-keys').open(rows[0].private_key_sealed), 'EdDSA')
  reference = generic(await me('a.b.c'))
  expect(reference).toMatchObject({ status: 401, code: 'AUTH_INVALID', detail: 'The credentials are invalid or expired' })
  canary = createServer((_req, res) => { canaryHits++; res.end('{"keys":[]}') })
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve))
  canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}/jwks.json`
})
afterAll(async () => {
  await new Promise((resolve) => canary.close(resolve))
  await t.close()
})

describe('the control: tokens minted by the test are what the app issues', () => {
  it('accepts a token the test signs with the real key and good claims, so every 401 below is the attack', async () => {
    expect((await me(victim.accessToken)).statusCode).toBe(200)
    const res = await me(await sign(claims()))
    expect(res.statusCode).toBe(200)
    expect(res.json().id).toBe(victim.id)
  })
})

describe('AU-01 unsigned and tampered tokens', () => {
  it.each(['none', 'NONE', 'nOnE'])('refuses alg %s with the signature stripped or kept', async (alg) => {
    const [, , signature] = parts(victim.accessToken)
    const header = b64json({ alg, kid: realKid, typ: 'at+jwt' })
    const payload = b64json(claims())
    expectRejected(await me(`${header}.${payload}.`))
    expectRejected(await me(`${header}.${payload}.${signature}`))
  })

  it('refuses a jose UnsecuredJWT', async () => {
    expectRejected(await me(new UnsecuredJWT(claims()).encode()))
  })

  it('refuses a payload changed to another user (signature kept)', async () => {
    const [header, payload, signature] = parts(victim.accessToken)
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString())
    expectRejected(await me(`${header}.${b64json({ ...decoded, sub: other.id })}.${signature}`))
    expectRejected(await me(`${header}.${b64json({ ...decoded, sub: other.id, sid: other.sessionId })}.${signature}`))
  })

  it('refuses a tampered signature and a truncated one', async () => {
    const [header, payload, signature] = parts(victim.accessToken)
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
    expectRejected(await me(`${header}.${payload}.${flipped}`))
    expectRejected(await me(`${header}.${payload}.${signature.slice(0, 40)}`))
  })

  it('refuses a session id bound to another user, even when validly signed', async () => {
    expectRejected(await me(await sign(claims({ sid: other.sessionId }))))
    expectRejected(await me(await sign(claims({ sub: '00000000-0000-7000-8000-000000000000' }))))
  })
})

describe('AU-02 algorithm confusion and keys named by the token', () => {
  it('refuses a token signed by an attacker Ed25519 key that claims our kid', async () => {
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    expectRejected(await me(await sign(claims(), {}, attacker.privateKey)))
  })

  it('refuses HS256/384/512 tokens keyed with the published public key', async () => {
    const secrets = [
      new TextEncoder().encode(JSON.stringify(realJwk)),
      new TextEncoder().encode(realJwk.x!),
      base64url.decode(realJwk.x!)
    ]
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        expectRejected(await me(await sign(claims(), { alg }, secret)))
      }
    }
  })

  it('never fetches or trusts jwk, jku, x5u or x5c headers (the loopback canary gets no request)', async () => {
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = { ...(await exportJWK(attacker.publicKey)), kid: 'attacker' }
    const headers: Array<Partial<JWTHeaderParameters>> = [
      { jwk }, { jwk, kid: 'attacker' }, { jku: canaryUrl }, { jku: canaryUrl, kid: 'attacker' },
      { x5u: canaryUrl }, { x5u: canaryUrl, kid: 'attacker' }, { x5c: ['MIIBszCCAVmgAwIBAgIUQ=='] }
    ]
    for (const header of headers) expectRejected(await me(await sign(claims(), header, attacker.privateKey)))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(canaryHits).toBe(0)
  })
})

describe('AU-03 claims (signed with the real key)', () => {
  it.each([
    ['expired beyond the 60 s skew', { exp: now() - 120, iat: now() - 1000 }],
    ['not yet valid (nbf in the future)', { nbf: now() + 120 }],
    ['without exp', { exp: undefined }],
    ['issued in the future beyond the skew', { iat: now() + 120 }],
    ['without iat', { iat: undefined }],
    ['from another issuer', { iss: 'evil' }],
    ['without iss', { iss: undefined }],
    ['for another audience', { aud: 'other-frontend' }],
    ['without aud', { aud: undefined }],
    ['without sid', { sid: undefined }],
    ['without sub', { sub: undefined }],
    ['with a non-string sid', { sid: 12 }]
  ])('refuses a token %s', async (_name, overrides) => {
    expectRejected(await me(await sign(claims(overrides))))
  })

  it('refuses a token whose typ is not at+jwt (an id token or a generic JWT)', async () => {
    expectRejected(await me(await sign(claims(), { typ: 'JWT' })))
    expectRejected(await me(await sign(claims(), { typ: undefined })))
  })

  it('tolerates at most 60 s of clock skew', async () => {
    expect((await me(await sign(claims({ exp: now() - 30, iat: now() - 600 })))).statusCode).toBe(200)
    expect((await me(await sign(claims({ iat: now() + 30 })))).statusCode).toBe(200)
    expectRejected(await me(await sign(claims({ exp: now() - 75, iat: now() - 600 }))))
  })
})

describe('AU-01 rejected tokens are reported', () => {
  it('emits one auth.token_rejected event per forged request, naming the reason but never the token', async () => {
    const events: SecurityEvent[] = []
    t.app.securityEvents.on((e) => { if (e.action === 'auth.token_rejected') events.push(e) })
    const [header, payload, signature] = parts(victim.accessToken)
    const forged = [
      `${b64json({ alg: 'none', kid: realKid, typ: 'at+jwt' })}.${payload}.`,
      `${header}.${b64json({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: other.id })}.${signature}`,
      await sign(claims(), { alg: 'HS256' }, base64url.decode(realJwk.x!)),
      await sign(claims({ aud: 'other-frontend' }))
    ]
    for (const token of forged) expectRejected(await me(token))
    expect(events).toHaveLength(forged.length)
    expect(events.map((e) => e.details?.reason)).toEqual(['malformed', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud'])
    for (const [i, e] of events.entries()) {
      expect(e).toMatchObject({ outcome: 'denied', actorType: 'anonymous', ip: '127.0.0.1' })
      expect(JSON.stringify(e)).not.toContain(forged[i]!.split('.')[2] || forged[i]!.split('.')[1]!)
    }
    // An expired token is routine, not an attack: refused, not reported.
    expectRejected(await me(await sign(claims({ exp: now() - 120, iat: now() - 1000 }))))
    expect(events).toHaveLength(forged.length)
  })
})

describe('AU-04 other tokens are not access tokens', () => {
  it('refuses a refresh, reset or verification token as a bearer token', async () => {
    const email = uniqueEmail()
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: strongPassword() } })
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email } })
    await vi.waitFor(() => { if (t.mail.filter((m) => m.to === email).length < 2) throw new Error('mail not sent yet') })
    const tokens = t.mail.filter((m) => m.to === email).map((m) => /token=([A-Za-z0-9_-]+)/.exec(m.text)![1]!)
    expect(tokens).toHaveLength(2)
    for (const token of [victim.refreshToken, ...tokens]) expectRejected(await me(token))
  })

  it('refuses an access token sent to /auth/refresh', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: victim.accessToken } })
    expect(res.statusCode, res.body).toBe(401)
    expect(res.json().code).toBe('REFRESH_INVALID')
  })
})

describe('AU-05 kid attacks', () => {
  it.each([
    ['path traversal', '../../etc/passwd'],
    ['SQL', "' OR 1=1--"],
    ['10 KB', 'k'.repeat(10_240)],
    ['unknown', 'unknown-kid-0123'],
    ['empty', '']
  ])('refuses a %s kid with a 401, never a 500', async (_name, kid) => {
    expectRejected(await me(await sign(claims(), { kid })))
  })

  it('reloads keys at most once for 50 tokens with unknown kids (no lookup storm)', async () => {
    const loads = countKeyLoads()
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sign(claims(), { kid: `unknown-${i}-${randomBytes(4).toString('hex')}` }).then(me)))
      for (const res of results) expectRejected(res)
      expect(loads.count()).toBeLessThanOrEqual(1)
    } finally { loads.restore() }
  })

  it('reloads keys once, not once per request, when the periodic reload falls due under load', async () => {
    const loads = countKeyLoads()
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      const token = await sign(claims())
      const results = await Promise.all(Array.from({ length: 20 }, () => me(token)))
      for (const res of results) expect(res.statusCode).toBe(200)
      expect(loads.count()).toBe(1)
    } finally {
      vi.useRealTimers()
      loads.restore()
    }
  })
})

// countKeyLoads counts queries that read the signing_keys table through the app's Drizzle instance.
function countKeyLoads (): { count: () => number, restore: () => void } {
  const db = t.app.db
  const original = db.select.bind(db)
  let n = 0
  const spy = vi.spyOn(db, 'select').mockImplementation(((...args: Parameters<typeof db.select>) => {
    const builder = original(...args)
    const from = builder.from.bind(builder)
    builder.from = ((table: Parameters<typeof from>[0]) => {
      if (getTableName(table as Parameters<typeof getTableName>[0]) === 'signing_keys') n++
      return from(table)
    }) as typeof builder.from
    return builder
  }) as typeof db.select)
  return { count: () => n, restore: () => spy.mockRestore() }
}
