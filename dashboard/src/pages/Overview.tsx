import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { BarChart } from '../ui/BarChart.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'

const tone = (s: string) => (s === 'succeeded' || s === 'ok' ? 'good' : s === 'failed' || s === 'timed_out' || s === 'fail' ? 'bad' : '')

/** Overview is the console's first page: dependencies, nodes, traffic, queue, agents and runs at a glance. */
export function Overview () {
  const { api } = useSession()
  const refetchInterval = 10_000
  const health = useQuery({ queryKey: ['health'], refetchInterval, queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/health')) })
  const queue = useQuery({ queryKey: ['queue'], refetchInterval, queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/queue')) })
  const analytics = useQuery({ queryKey: ['analytics', 'overview'], refetchInterval, queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/analytics/overview')) })
  const users = useQuery({ queryKey: ['analytics', 'users'], queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/analytics/users', { params: { query: { days: 14 } } })) })

  const a = analytics.data
  const byStatus = a?.executions24h ?? {}

  return (
    <>
      <h1>Overview</h1>
      <ProblemAlert error={health.error ?? queue.error ?? analytics.error} />
      <section aria-labelledby='kpi' className='cards'>
        <h2 id='kpi' className='sr-only'>Key figures</h2>
        <dl>
          <div><dt>Status</dt><dd className={`badge ${tone(health.data?.status ?? '')}`}>{health.data?.status ?? '…'}</dd></div>
          <div><dt>Queue depth</dt><dd>{a?.queue.depth ?? '…'}</dd></div>
          <div><dt>Dead letters</dt><dd>{a?.queue.deadLetters ?? '…'}</dd></div>
          <div><dt>Agents online</dt><dd>{a?.agentsOnline ?? '…'}</dd></div>
          {a !== undefined && <div><dt>Requests/s</dt><dd>{a.http.requestsPerSecond.toFixed(1)}</dd></div>}
          {a !== undefined && <div><dt>Error rate</dt><dd>{(a.http.errorRate * 100).toFixed(2)} %</dd></div>}
          {a !== undefined && <div><dt>p99 latency</dt><dd>{a.http.p99Ms === null ? '—' : `${a.http.p99Ms} ms`}</dd></div>}
        </dl>
      </section>
      <div className='grid'>
        <section aria-labelledby='deps'>
          <h2 id='deps'>Dependencies</h2>
          {analytics.isPending
            ? <Loading what='health' />
            : (
              <table>
                <thead><tr><th scope='col'>Dependency</th><th scope='col'>State</th><th scope='col'>Latency</th></tr></thead>
                <tbody>
                  {(a?.dependencies ?? []).map((d) => (
                    <tr key={d.name}><th scope='row'>{d.name}</th><td><span className={`badge ${tone(d.state)}`}>{d.state}</span></td><td>{d.latencyMs} ms</td></tr>
                  ))}
                </tbody>
              </table>)}
          {a !== undefined && a.breakers.length > 0 && (
            <>
              <h3>Circuit breakers not closed</h3>
              <ul>{a.breakers.map((b) => <li key={b.name}>{b.name}: <span className='badge bad'>{b.state}</span></li>)}</ul>
            </>
          )}
          <h3>Nodes ({a?.nodes.length ?? '…'})</h3>
          <ul>
            {(a?.nodes ?? []).map((n) => (
              <li key={n.instance}>{n.id}{n.answering ? ' (answered this page)' : ''}: {n.ready ? 'ready' : 'not ready'}, {n.version}, up {Math.round(n.uptimeSeconds / 60)} min{n.answering ? '' : `, seen ${n.seenSecondsAgo} s ago`}</li>
            ))}
          </ul>
          {health.data !== undefined && <p className='muted'>Version {health.data.version}, queue {health.data.queue}, migrations {health.data.migrations.applied}/{health.data.migrations.expected}</p>}
        </section>
        <section aria-labelledby='charts'>
          <h2 id='charts'>Activity</h2>
          <BarChart title='Executions in the last 24 h' bars={Object.entries(byStatus).map(([label, value]) => ({ label, value, tone: tone(label) }))} />
          <BarChart title='Queue depth per job' bars={(queue.data?.queues ?? []).map((q) => ({ label: q.name, value: q.queued + q.active }))} />
          {users.data !== undefined && <BarChart title='Sign-ups per day (14 days)' bars={users.data.days.map((d) => ({ label: d.day, value: d.signups }))} />}
          {users.data !== undefined && <BarChart title='Active users per day (14 days)' bars={users.data.days.map((d) => ({ label: d.day, value: d.activeUsers }))} />}
        </section>
      </div>
    </>
  )
}
