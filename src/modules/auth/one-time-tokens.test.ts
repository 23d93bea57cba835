import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { uniqueEmail } from '../../../test/helpers/auth.ts'
import { adminQuery } from '../../../test/helpers/services.ts'
import { createOneTimeTokens, MAX_TOKEN_TTL_MS, PRUNE_AFTER_MS } from './one-time-tokens.ts'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t.close() })

const rowsFor = async (email: string) =>
  (await adminQuery(t.db.url, 'SELECT id FROM one_time_tokens WHERE email = $1 ORDER BY created_at', [email])).rows as Array<{ id: string }>

describe('one-time token rows do not pile up', () => {
  it('deletes rows older than the longest token life plus a day, spent or not, and keeps younger ones', async () => {
    const tokens = createOneTimeTokens(t.app.db)
    const email = uniqueEmail('prune')
    // Every forgot-password request writes a row, for any address (AU-12): an attacker's stream of them must not grow the table for ever.
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email } })).statusCode).toBe(202)
    const [old, recent, fresh] = await rowsFor(email)
    await adminQuery(t.db.url, "UPDATE one_time_tokens SET created_at = now() - make_interval(secs => $2::double precision / 1000) - interval '1 minute' WHERE id = $1", [old!.id, PRUNE_AFTER_MS])
    await adminQuery(t.db.url, "UPDATE one_time_tokens SET created_at = now() - interval '2 days' WHERE id = $1", [recent!.id])
    expect(await tokens.prune()).toBeGreaterThanOrEqual(1)
    expect(await rowsFor(email)).toEqual([recent, fresh])
  })

  it('refuses a token meant to live longer than that bound (its row could be pruned while it still works)', async () => {
    const tokens = createOneTimeTokens(t.app.db)
    await expect(tokens.create('invite', { email: uniqueEmail(), ttlMs: MAX_TOKEN_TTL_MS + 1 })).rejects.toThrow(RangeError)
  })
})
