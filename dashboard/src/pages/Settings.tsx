import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'

/** Settings shows the effective configuration read-only (secrets masked by the server) and where each value came from. */
export function Settings () {
  const { api } = useSession()
  const settings = useQuery({ queryKey: ['settings'], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/settings')) })
  return (
    <>
      <h1>Settings</h1>
      <p className='muted'>Read-only: change them in the environment or the config file and restart.</p>
      <ProblemAlert error={settings.error} />
      {settings.isPending && <Loading what='settings' />}
      {settings.data !== undefined && (
        <table>
          <thead><tr><th scope='col'>Setting</th><th scope='col'>Value</th><th scope='col'>From</th></tr></thead>
          <tbody>{settings.data.items.map((s) => <tr key={s.name}><th scope='row'><code>{s.name}</code></th><td>{typeof s.value === 'string' ? s.value : JSON.stringify(s.value)}</td><td>{s.source}</td></tr>)}</tbody>
        </table>
      )}
    </>
  )
}
