import { useState } from 'react'
import { useParams } from 'react-router'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { AuditTable } from './AuditTable.tsx'
import { when } from '../lib/format.ts'

/** UserDetail shows one account: status, roles (the last-admin rule is the API's), sessions, API keys and audit trail. */
export function UserDetail () {
  const { id = '' } = useParams()
  const { api } = useSession()
  const queries = useQueryClient()
  const user = useQuery({ queryKey: ['user', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/users/{id}', { params: { path: { id } } })) })
  const sessions = useQuery({ queryKey: ['user', id, 'sessions'], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/users/{id}/sessions', { params: { path: { id } } })) })
  const keys = useQuery({ queryKey: ['user', id, 'keys'], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/users/{id}/api-keys', { params: { path: { id } } })) })
  const [roles, setRoles] = useState<string | null>(null)
  const refresh = () => queries.invalidateQueries({ queryKey: ['user', id] })
  const patch = async (body: { status?: 'active' | 'disabled', roles?: string[] }) => {
    unwrap(await api.client.PATCH('/api/v1/admin/users/{id}', { params: { path: { id } }, body }))
    await refresh()
    await queries.invalidateQueries({ queryKey: ['users'] })
  }
  if (user.isPending) return <Loading what='the user' />
  if (user.data === undefined) return <ProblemAlert error={user.error} />
  const u = user.data
  const roleList = (roles ?? u.roles.join(', ')).split(',').map((r) => r.trim()).filter((r) => r !== '')
  return (
    <>
      <h1>{u.email}</h1>
      <dl className='facts'>
        <dt>Name</dt><dd>{u.name || '—'}</dd>
        <dt>Status</dt><dd><span className={`badge ${u.status === 'active' ? 'good' : 'bad'}`}>{u.status}</span></dd>
        <dt>Email confirmed</dt><dd>{u.emailVerified ? 'yes' : 'no'}</dd>
        <dt>Created</dt><dd>{when(u.createdAt)}</dd>
        <dt>Last sign-in</dt><dd>{when(u.lastLoginAt)}</dd>
      </dl>
      <div className='actions'>
        {u.status === 'active'
          ? <ConfirmAction label='Disable' question={`Disable ${u.email}? Every session of theirs is refused from now on.`} onConfirm={() => patch({ status: 'disabled' })} />
          : u.status === 'disabled' && <ConfirmAction label='Enable' danger={false} question={`Enable ${u.email} again?`} onConfirm={() => patch({ status: 'active' })} />}
      </div>
      <section aria-labelledby='roles'>
        <h2 id='roles'>Roles</h2>
        <p className='muted'>The last active admin keeps the admin role: the API refuses to remove it, and says so here.</p>
        <label>Roles (comma-separated)<input value={roles ?? u.roles.join(', ')} onChange={(e) => setRoles(e.target.value)} /></label>
        <ConfirmAction label='Save roles' danger={false} question={`Give ${u.email} the roles: ${roleList.join(', ')}?`} onConfirm={async () => { await patch({ roles: roleList }); setRoles(null) }} />
      </section>
      <section aria-labelledby='sessions'>
        <h2 id='sessions'>Sessions</h2>
        <ProblemAlert error={sessions.error} />
        {sessions.data?.items.length === 0 && <p>No live sessions.</p>}
        {sessions.data !== undefined && sessions.data.items.length > 0 && (
          <table>
            <thead><tr><th scope='col'>Started</th><th scope='col'>Last used</th><th scope='col'>From</th><th scope='col'><span className='sr-only'>Actions</span></th></tr></thead>
            <tbody>{sessions.data.items.map((s) => (
              <tr key={s.id}><td>{when(s.createdAt)}</td><td>{when(s.lastUsedAt)}</td><td>{s.ip ?? '—'} {s.userAgent ?? ''}</td>
                <td><ConfirmAction label='Revoke' question='End this session now?' onConfirm={async () => { unwrap(await api.client.DELETE('/api/v1/admin/users/{id}/sessions/{sessionId}', { params: { path: { id, sessionId: s.id } } })); await refresh() }} /></td>
              </tr>))}
            </tbody>
          </table>)}
      </section>
      <section aria-labelledby='keys'>
        <h2 id='keys'>API keys</h2>
        <ProblemAlert error={keys.error} />
        {keys.data !== undefined && (
          <ul>{keys.data.items.map((k) => <li key={k.id}>{k.name} {k.prefix} — scopes {k.scopes.join(', ') || 'none'}, last used {when(k.lastUsedAt)}{k.revokedAt == null ? '' : `, revoked ${when(k.revokedAt)}`}</li>)}</ul>
        )}
        {keys.data?.items.length === 0 && <p>No API keys.</p>}
      </section>
      <section aria-labelledby='trail'>
        <h2 id='trail'>Audit trail (as actor)</h2>
        <AuditTable filters={{ actorId: id }} />
      </section>
    </>
  )
}
