/**
 * The session's tokens live in this module's memory only: never localStorage, sessionStorage or
 * a cookie this page can read. A reload signs the admin out (the sign-in page brings them back
 * to the same URL). The refresh token rotates through POST /api/v1/auth/refresh (body, not a cookie).
 */
export interface TokenPair {
  accessToken: string
  refreshToken: string
  expiresIn: number
  sessionId: string
}

type Listener = (signedIn: boolean) => void

/** RefreshFn trades a refresh token for a new pair, or null when the API refused it. */
export type RefreshFn = (refreshToken: string) => Promise<TokenPair | null>

/** TokenStore keeps the pair, refreshes it a little before it expires, and tells listeners on sign-in and sign-out. */
export class TokenStore {
  #pair: TokenPair | null = null
  #expiresAt = 0
  #refreshing: Promise<string | null> | null = null
  #listeners = new Set<Listener>()
  readonly #refresh: RefreshFn
  readonly #now: () => number

  constructor (refresh: RefreshFn, now: () => number = Date.now) {
    this.#refresh = refresh
    this.#now = now
  }

  get signedIn (): boolean { return this.#pair !== null }
  get sessionId (): string | null { return this.#pair?.sessionId ?? null }

  set (pair: TokenPair): void {
    const was = this.#pair !== null
    this.#pair = pair
    this.#expiresAt = this.#now() + pair.expiresIn * 1000
    if (!was) this.#emit(true)
  }

  clear (): void {
    if (this.#pair === null) return
    this.#pair = null
    this.#emit(false)
  }

  /** accessToken is the current token, refreshed first when it expires within 30 s. */
  async accessToken (): Promise<string | null> {
    if (this.#pair === null) return null
    if (this.#expiresAt - this.#now() > 30_000) return this.#pair.accessToken
    return await this.refresh()
  }

  /** refresh rotates the pair once, however many callers ask at the same time; null signs out. */
  async refresh (): Promise<string | null> {
    const pair = this.#pair
    if (pair === null) return null
    this.#refreshing ??= this.#refresh(pair.refreshToken).then((next) => {
      if (next === null) this.clear()
      else this.set(next)
      return next?.accessToken ?? null
    }, () => pair.accessToken).finally(() => { this.#refreshing = null })
    return await this.#refreshing
  }

  subscribe (listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  #emit (signedIn: boolean): void {
    for (const l of this.#listeners) l(signedIn)
  }
}
