import { Link, useParams } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { when } from '../lib/format.ts'

/** WebhookDetail is one endpoint and its deliveries with attempts; a delivery can be sent again. */
export function WebhookDetail () {
  const { id = '' } = useParams()
  const { api } = useSession()
  const [f] = useFilters(['cursor'] as const)
  const hook = useQuery({ queryKey: ['webhook', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/webhooks/{id}', { params: { path: { id } } })) })
  const deliveries = useQuery({
    queryKey: ['deliveries', id, f.cursor],
    refetchInterval: 10_000,
    queryFn: async () => unwrap(await api.client.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: 20, ...defined(f) } } }))
  })
  if (hook.isPending) return <Loading what='the endpoint' />
  if (hook.data === undefined) return <ProblemAlert error={hook.error} />
  const h = hook.data
  return (
    <>
      <h1>Webhook {h.url}</h1>
      <p><Link to={`/projects/${h.projectId}`}>Back to the project</Link></p>
      <dl className='facts'>
        <dt>State</dt><dd>{h.enabled ? 'enabled' : `disabled (${h.disabledReason ?? 'by hand'})`}</dd>
        <dt>Events</dt><dd>{h.eventTypes.join(', ')}</dd>
        <dt>Failures in a row</dt><dd>{h.consecutiveFailures}</dd>
        <dt>Last success</dt><dd>{when(h.lastSuccessAt)}</dd>
      </dl>
      <h2>Deliveries</h2>
      <ProblemAlert error={deliveries.error} />
      <table>
        <thead><tr><th scope='col'>Event</th><th scope='col'>Status</th><th scope='col'>Attempts</th><th scope='col'>Last attempt</th><th scope='col'>Answer</th><th scope='col'><span className='sr-only'>Actions</span></th></tr></thead>
        <tbody>{deliveries.data?.items.map((d) => (
          <tr key={d.id}>
            <td><code>{d.eventType}</code></td><td>{d.status}</td><td>{d.attempts}/{d.maxAttempts}</td><td>{when(d.lastAttemptAt)}</td>
            <td>{d.lastStatusCode ?? '—'} {d.lastError ?? ''}</td>
            <td><ConfirmAction label='Redeliver' danger={false} question={`Send ${d.eventType} to ${h.url} again (same webhook-id)?`} onConfirm={async () => { unwrap(await api.client.POST('/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id, deliveryId: d.id } } })); await deliveries.refetch() }} /></td>
          </tr>
        ))}
        </tbody>
      </table>
      <Pager nextCursor={deliveries.data?.nextCursor} />
    </>
  )
}
