import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'

/** Frontends is the registry of apps that call this Backplane: origins, rate tiers, and key rotation. */
export function Frontends () {
  const { api } = useSession()
  const [f] = useFilters(['cursor'] as const)
  const [key, setKey] = useState<{ name: string, key: string } | null>(null)
  const list = useQuery({ queryKey: ['frontends', f], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/frontends', { params: { query: { limit: 20, ...defined(f) } } })) })
  const rotate = async (id: string, name: string) => {
    const answer = unwrap(await api.client.POST('/api/v1/admin/frontends/{id}/rotate-key', { params: { path: { id } } }))
    setKey({ name, key: answer.apiKey })
  }
  return (
    <>
      <h1>Frontends</h1>
      {key !== null && <p role='status' className='secret'>New key of {key.name} (shown once): <code>{key.key}</code></p>}
      <ProblemAlert error={list.error} />
      {list.isPending
        ? <Loading what='frontends' />
        : (
          <table>
            <thead><tr><th scope='col'>Name</th><th scope='col'>Origins</th><th scope='col'>Tier</th><th scope='col'>Source</th><th scope='col'>State</th><th scope='col'><span className='sr-only'>Actions</span></th></tr></thead>
            <tbody>{list.data?.items.map((x) => (
              <tr key={x.id}>
                <th scope='row'>{x.name}</th><td>{x.origins.join(', ') || '—'}</td><td>{x.rateTier}</td><td>{x.source}{x.missingSince === null ? '' : ' (missing)'}</td>
                <td>{x.enabled ? 'enabled' : 'disabled'}</td>
                <td><ConfirmAction label='Rotate key' question={`Rotate the key of ${x.name}? The old key stops working; update the app's env.`} onConfirm={() => rotate(x.id, x.name)} /></td>
              </tr>
            ))}
            </tbody>
          </table>)}
      <Pager nextCursor={list.data?.nextCursor} />
    </>
  )
}
