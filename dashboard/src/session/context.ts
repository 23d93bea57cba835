import { createContext, useContext } from 'react'
import type { components } from '../api/client.ts'
import type { Api } from './api.ts'

/** User is the signed-in account as the API describes it. */
export type User = components['schemas']['User'] extends infer U ? U : never

/** SessionValue is what every page reads: the client and who is signed in. */
export interface SessionValue {
  api: Api
  me: { id: string, email: string, name: string, roles: string[] } | null
  signOut: (everywhere: boolean) => Promise<void>
}

export const SessionContext = createContext<SessionValue | null>(null)

/** useSession is the console's session; only pages inside SessionProvider call it. */
export function useSession (): SessionValue {
  const value = useContext(SessionContext)
  if (value === null) throw new Error('useSession outside SessionProvider')
  return value
}

/** useClient is the typed API client of the session. */
export function useClient (): Api['client'] {
  return useSession().api.client
}
