import { Link } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { when } from '../lib/format.ts'

/** STATUSES are the states of a run. */
export const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const
type Status = typeof STATUSES[number]

/** statusTone is the badge colour of a run's state. */
export const statusTone = (s: string) => (s === 'succeeded' ? 'good' : s === 'failed' || s === 'timed_out' ? 'bad' : s === 'running' ? 'busy' : '')

/** Executions lists runs, newest first, filtered by status, project, task or agent (in the URL). */
export function Executions () {
  const { api } = useSession()
  const [f, set] = useFilters(['status', 'projectId', 'taskId', 'agentId', 'cursor'] as const)
  const list = useQuery({
    queryKey: ['executions', f],
    refetchInterval: 5_000,
    queryFn: async () => unwrap(await api.client.GET('/api/v1/executions', {
      params: { query: { limit: 20, ...defined({ projectId: f.projectId, taskId: f.taskId, agentId: f.agentId, cursor: f.cursor }), ...(f.status === '' ? {} : { status: f.status as Status }) } }
    }))
  })
  return (
    <>
      <h1>Executions</h1>
      <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
        <label>Status
          <select value={f.status} onChange={(e) => set('status', e.target.value)}>
            <option value=''>any</option>{STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Project id<input value={f.projectId} onChange={(e) => set('projectId', e.target.value)} /></label>
        <label>Task id<input value={f.taskId} onChange={(e) => set('taskId', e.target.value)} /></label>
        <label>Agent id<input value={f.agentId} onChange={(e) => set('agentId', e.target.value)} /></label>
      </form>
      <ProblemAlert error={list.error} />
      {list.isPending ? <Loading what='executions' /> : <ExecutionRows items={list.data?.items ?? []} />}
      <Pager nextCursor={list.data?.nextCursor} />
    </>
  )
}

interface Row { id: string, taskName: string, status: string, trigger: string, attempt: number, maxAttempts: number, createdAt: string, durationMs: number | null }

/** ExecutionRows is a table of runs linking to each run's live view. */
export function ExecutionRows ({ items }: { items: Row[] }) {
  if (items.length === 0) return <p>No executions.</p>
  return (
    <table>
      <thead><tr><th scope='col'>Task</th><th scope='col'>Status</th><th scope='col'>Trigger</th><th scope='col'>Attempt</th><th scope='col'>Created</th><th scope='col'>Duration</th></tr></thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.id}>
            <td><Link to={`/executions/${e.id}`}>{e.taskName}</Link></td>
            <td><span className={`badge ${statusTone(e.status)}`}>{e.status}</span></td>
            <td>{e.trigger}</td><td>{e.attempt}/{e.maxAttempts}</td><td>{when(e.createdAt)}</td>
            <td>{e.durationMs === null ? '—' : `${e.durationMs} ms`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
