import { useEffect, useMemo, useState } from 'react'
import type { ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import type { Api } from './api.ts'
import { SessionContext } from './context.ts'
import type { SessionValue } from './context.ts'
import { SignIn } from './SignIn.tsx'

type Me = NonNullable<SessionValue['me']>

/**
 * SessionProvider shows the sign-in until there is a session, then loads who signed in: an
 * account without the admin role is told it lacks access (and gets no admin data).
 */
export function SessionProvider ({ api, children }: { api: Api, children: ReactNode }) {
  const queries = useQueryClient()
  const [signedIn, setSignedIn] = useState(api.tokens.signedIn)
  const [me, setMe] = useState<Me | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => api.tokens.subscribe((now) => {
    setSignedIn(now)
    if (!now) { setMe(null); queries.clear() }
  }), [api, queries])

  useEffect(() => {
    if (!signedIn) return
    let live = true
    api.client.GET('/api/v1/users/me').then(({ data }) => {
      if (!live) return
      if (data === undefined) setError('Could not load your account.')
      else setMe(data)
    }, () => { if (live) setError('Could not load your account.') })
    return () => { live = false }
  }, [api, signedIn])

  const value = useMemo<SessionValue>(() => ({
    api,
    me,
    signOut: async (everywhere) => {
      await api.client.POST(everywhere ? '/api/v1/auth/logout-all' : '/api/v1/auth/logout').catch(() => undefined)
      api.tokens.clear()
    }
  }), [api, me])

  if (!signedIn) return <SignIn api={api} />
  if (me === null) return <main><p role={error === null ? 'status' : 'alert'}>{error ?? 'Loading your account…'}</p></main>
  if (!me.roles.includes('admin')) {
    return (
      <main className='signin'>
        <h1>No access</h1>
        <p role='alert'>{me.email} is signed in but is not an administrator: the console is for accounts with the admin role.</p>
        <button type='button' onClick={() => { value.signOut(false) }}>Sign out</button>
      </main>
    )
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}
