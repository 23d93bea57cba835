import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { as, makeUser } from '../../../test/helpers/auth.ts'
import { adminQuery } from '../../../test/helpers/services.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

function kidOf (token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid
}

describe('signing key rotation', () => {
  it('signs out nobody: old tokens keep working, new ones use the new key, the JWKS lists both', async () => {
    const before = await makeUser(t.app)
    const oldKid = kidOf(before.accessToken)
    const newKid = await t.app.signingKeys.rotate()
    expect(newKid).not.toBe(oldKid)
    expect((await t.app.inject(as(before, { method: 'GET', url: '/api/v1/users/me' }))).statusCode).toBe(200)
    const after = await makeUser(t.app)
    expect(kidOf(after.accessToken)).toBe(newKid)
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([newKid, oldKid].sort())
  })

  it('keeps private keys sealed in the database', async () => {
    const { rows } = await adminQuery(t.db.url, 'SELECT private_key_sealed, public_jwk::text AS jwk FROM signing_keys')
    for (const row of rows) {
      expect(row.private_key_sealed).toMatch(/^v1\./)
      expect(row.private_key_sealed).not.toContain('PRIVATE KEY')
      expect(row.jwk).not.toContain('"d"')
    }
  })
})

describe('the verified-token cache', () => {
  it('remembers a token only until it expires, and never a tampered copy', async () => {
    const { vi } = await import('vitest')
    const user = await makeUser(t.app)
    const aud = t.app.config.auth.audience
    const claims = await t.app.signingKeys.verify(user.accessToken, aud)
    expect((await t.app.signingKeys.verify(user.accessToken, aud)).sid).toBe(claims.sid)
    await expect(t.app.signingKeys.verify(user.accessToken, 'another-audience')).rejects.toThrow()
    const [h, p, s] = user.accessToken.split('.')
    const tampered = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`
    await expect(t.app.signingKeys.verify(tampered, aud)).rejects.toThrow()
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(new Date((claims.exp! + 61) * 1000))
      await expect(t.app.signingKeys.verify(user.accessToken, aud)).rejects.toThrow()
    } finally {
      vi.useRealTimers()
    }
  })
})
