import { Link, useNavigate, useParams } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { describeSchedule } from '../lib/schedule.ts'
import { when } from '../lib/format.ts'
import { ExecutionRows } from './Executions.tsx'

/** TaskDetail is a task's schedule in words and its next runs, run now, pause/resume, and its latest runs. */
export function TaskDetail () {
  const { id = '' } = useParams()
  const { api } = useSession()
  const navigate = useNavigate()
  const task = useQuery({ queryKey: ['task', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/tasks/{id}', { params: { path: { id } } })) })
  const runs = useQuery({ queryKey: ['executions', { taskId: id }], refetchInterval: 5_000, queryFn: async () => unwrap(await api.client.GET('/api/v1/executions', { params: { query: { taskId: id, limit: 10 } } })) })
  if (task.isPending) return <Loading what='the task' />
  if (task.data === undefined) return <ProblemAlert error={task.error} />
  const t = task.data
  const runNow = async () => {
    const run = unwrap(await api.client.POST('/api/v1/tasks/{id}/run', { params: { path: { id } } }))
    await navigate(`/executions/${run.id}`)
  }
  const toggle = async () => {
    if (t.enabled) unwrap(await api.client.POST('/api/v1/tasks/{id}/pause', { params: { path: { id } } }))
    else unwrap(await api.client.POST('/api/v1/tasks/{id}/resume', { params: { path: { id } } }))
    await task.refetch()
  }
  return (
    <>
      <h1>{t.name}</h1>
      <p>{t.description}</p>
      <p><Link to={`/projects/${t.projectId}`}>Back to the project</Link></p>
      <dl className='facts'>
        <dt>Schedule</dt><dd>{describeSchedule(t.schedule, t.timezone)}{t.schedule === null ? '' : <> — <code>{t.schedule}</code></>}</dd>
        <dt>State</dt><dd>{t.enabled ? 'enabled' : 'paused'}</dd>
        <dt>Target</dt><dd>{t.target.agentId ?? (t.target.labels.length === 0 ? 'any agent' : `agents labelled ${t.target.labels.join(', ')}`)}</dd>
        <dt>Timeout</dt><dd>{t.timeoutSeconds} s, up to {t.retry.maxAttempts} attempts</dd>
      </dl>
      <h2>Next runs</h2>
      {t.nextRuns.length === 0 ? <p>None scheduled.</p> : <ol>{t.nextRuns.map((r) => <li key={r}>{when(r)}</li>)}</ol>}
      <div className='actions'>
        <ConfirmAction label='Run now' danger={false} question={`Start a run of ${t.name} now?`} onConfirm={runNow} />
        <ConfirmAction label={t.enabled ? 'Pause' : 'Resume'} danger={t.enabled} question={t.enabled ? 'Pause this task? Its schedule stops firing.' : 'Resume this task\'s schedule?'} onConfirm={toggle} />
      </div>
      <h2>Latest runs</h2>
      <ProblemAlert error={runs.error} />
      {runs.data !== undefined && <ExecutionRows items={runs.data.items} />}
    </>
  )
}
