import { useState } from 'react'
import { Link } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { age } from '../lib/format.ts'

/** Agents lists the machines that run tasks: status, labels, heartbeat age, and each one's metrics on demand. */
export function Agents () {
  const { api } = useSession()
  const [f, set] = useFilters(['status', 'label', 'cursor'] as const)
  const [open, setOpen] = useState<string | null>(null)
  const list = useQuery({
    queryKey: ['agents', f],
    refetchInterval: 10_000,
    queryFn: async () => unwrap(await api.client.GET('/api/v1/agents', { params: { query: { limit: 20, ...defined({ label: f.label, cursor: f.cursor }), ...(f.status === '' ? {} : { status: f.status as 'online' }) } } }))
  })
  return (
    <>
      <h1>Agents</h1>
      <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
        <label>Status
          <select value={f.status} onChange={(e) => set('status', e.target.value)}>
            <option value=''>any</option><option value='online'>online</option><option value='busy'>busy</option><option value='offline'>offline</option>
          </select>
        </label>
        <label>Label<input value={f.label} onChange={(e) => set('label', e.target.value)} /></label>
      </form>
      <ProblemAlert error={list.error} />
      {list.isPending
        ? <Loading what='agents' />
        : (
          <table>
            <thead><tr><th scope='col'>Agent</th><th scope='col'>Status</th><th scope='col'>Labels</th><th scope='col'>Heartbeat</th><th scope='col'>Version</th><th scope='col'>Metrics</th></tr></thead>
            <tbody>{list.data?.items.map((a) => (
              <tr key={a.id}>
                <td><Link to={`/executions?agentId=${a.id}`}>{a.name}</Link>{a.enabled ? '' : ' (disabled)'}</td>
                <td><span className={`badge ${a.status === 'offline' ? 'bad' : 'good'}`}>{a.status}</span></td>
                <td>{a.labels.join(', ') || '—'}</td><td>{age(a.lastSeenAt)}</td><td>{a.version ?? '—'}</td>
                <td>{open === a.id ? <AgentMetrics id={a.id} /> : <button type='button' onClick={() => setOpen(a.id)}>Show metrics<span className='sr-only'> of {a.name}</span></button>}</td>
              </tr>
            ))}
            </tbody>
          </table>)}
      <Pager nextCursor={list.data?.nextCursor} />
    </>
  )
}

function AgentMetrics ({ id }: { id: string }) {
  const { api } = useSession()
  const m = useQuery({ queryKey: ['agent', id, 'metrics'], queryFn: async () => unwrap(await api.client.GET('/api/v1/agents/{id}/metrics', { params: { path: { id } } })) })
  if (m.data === undefined) return m.error === null ? <Loading what='metrics' /> : <ProblemAlert error={m.error} />
  const d = m.data
  return <span>{d.runs} runs, {d.successRate === null ? '—' : `${Math.round(d.successRate * 100)} %`} ok, p50 {d.p50DurationMs ?? '—'} ms, p95 {d.p95DurationMs ?? '—'} ms, {d.running} running</span>
}
