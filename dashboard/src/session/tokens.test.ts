import { describe, expect, it } from 'vitest'
import { TokenStore } from './tokens.ts'
import type { TokenPair } from './tokens.ts'

const pair = (n: number, expiresIn = 900): TokenPair => ({ accessToken: `a${n}`, refreshToken: `r${n}`, expiresIn, sessionId: 's' })

describe('TokenStore (tokens in memory only)', () => {
  it('hands out the access token while it is fresh, and refreshes it 30 s before it expires', async () => {
    let now = 0
    const asked: string[] = []
    const store = new TokenStore(async (rt) => { asked.push(rt); return pair(2) }, () => now)
    store.set(pair(1))
    expect(await store.accessToken()).toBe('a1')
    now = 871_000
    expect(await store.accessToken()).toBe('a2')
    expect(asked).toEqual(['r1'])
  })

  it('refreshes once however many calls ask at the same time (the refresh token rotates)', async () => {
    let calls = 0
    const store = new TokenStore(async () => { calls++; await new Promise((resolve) => setTimeout(resolve, 5)); return pair(2) })
    store.set(pair(1))
    const tokens = await Promise.all([store.refresh(), store.refresh(), store.refresh()])
    expect(tokens).toEqual(['a2', 'a2', 'a2'])
    expect(calls).toBe(1)
  })

  it('signs out when the refresh is refused, and tells its listeners', async () => {
    const store = new TokenStore(async () => null)
    const seen: boolean[] = []
    store.subscribe((s) => seen.push(s))
    store.set(pair(1))
    expect(await store.refresh()).toBeNull()
    expect(store.signedIn).toBe(false)
    expect(seen).toEqual([true, false])
    expect(await store.accessToken()).toBeNull()
  })

  it('writes nothing to web storage', () => {
    const store = new TokenStore(async () => pair(2))
    store.set(pair(1))
    expect(localStorage.length).toBe(0)
    expect(sessionStorage.length).toBe(0)
    expect(document.cookie).toBe('')
  })
})
