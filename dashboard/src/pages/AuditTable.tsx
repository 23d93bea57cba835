import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import type { Api } from '../session/api.ts'
import type { paths } from '../api/client.ts'
import type { Item } from '../api/types.ts'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { when } from '../lib/format.ts'

/** AuditQuery is the audit list's filters as the API takes them. */
export type AuditQuery = Omit<NonNullable<paths['/api/v1/admin/audit']['get']['parameters']['query']>, 'limit'>
/** AuditEvent is one audit event. */
export type AuditEvent = Item<'/api/v1/admin/audit'>

/** auditPage fetches one page of the audit log. */
export async function auditPage (api: Api, query: AuditQuery, limit = 20) {
  return unwrap(await api.client.GET('/api/v1/admin/audit', { params: { query: { ...query, limit } } }))
}

/** AuditRows is the audit table's body. */
export function AuditRows ({ items }: { items: AuditEvent[] }) {
  return (
    <table>
      <thead><tr><th scope='col'>When</th><th scope='col'>Action</th><th scope='col'>Outcome</th><th scope='col'>Actor</th><th scope='col'>Target</th><th scope='col'>IP</th></tr></thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.id}>
            <td>{when(e.createdAt)}</td><td><code>{e.action}</code></td>
            <td><span className={`badge ${e.outcome === 'success' ? 'good' : 'bad'}`}>{e.outcome}</span></td>
            <td>{e.actorType}{e.actorId === null ? '' : ` ${e.actorId.slice(0, 8)}`}</td>
            <td>{e.targetType ?? '—'} {e.targetId ?? ''}</td><td>{e.ip ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** AuditTable is a self-contained audit list for a fixed filter (e.g. one user's trail), paged in place. */
export function AuditTable ({ filters }: { filters: AuditQuery }) {
  const { api } = useSession()
  const [cursors, setCursors] = useState<string[]>([])
  const cursor = cursors.at(-1)
  const page = useQuery({ queryKey: ['audit', filters, cursor], queryFn: () => auditPage(api, { ...filters, ...(cursor === undefined ? {} : { cursor }) }, 10) })
  if (page.isPending) return <Loading what='audit events' />
  if (page.data === undefined) return <ProblemAlert error={page.error} />
  const next = page.data.nextCursor
  return (
    <>
      {page.data.items.length === 0 ? <p>No events.</p> : <AuditRows items={page.data.items} />}
      <div className='pager'>
        <button type='button' disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button type='button' disabled={next === null} onClick={() => { if (next !== null) setCursors([...cursors, next]) }}>Older</button>
      </div>
    </>
  )
}
