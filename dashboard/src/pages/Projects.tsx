import { Link, useParams } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { describeSchedule } from '../lib/schedule.ts'
import { when } from '../lib/format.ts'

/** Projects lists every project (admins see all) with full-text search in the URL. */
export function Projects () {
  const { api } = useSession()
  const [f, set] = useFilters(['q', 'cursor'] as const)
  const list = useQuery({ queryKey: ['projects', f], queryFn: async () => unwrap(await api.client.GET('/api/v1/projects', { params: { query: { limit: 20, ...defined(f) } } })) })
  return (
    <>
      <h1>Projects</h1>
      <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
        <label>Search<input type='search' value={f.q} onChange={(e) => set('q', e.target.value)} /></label>
      </form>
      <ProblemAlert error={list.error} />
      {list.isPending
        ? <Loading what='projects' />
        : (
          <table>
            <thead><tr><th scope='col'>Name</th><th scope='col'>Description</th><th scope='col'>Created</th></tr></thead>
            <tbody>{list.data?.items.map((p) => <tr key={p.id}><td><Link to={`/projects/${p.id}`}>{p.name}</Link></td><td>{p.description}</td><td>{when(p.createdAt)}</td></tr>)}</tbody>
          </table>)}
      <Pager nextCursor={list.data?.nextCursor} />
    </>
  )
}

/** ProjectDetail is a project's tasks (search, enabled filter, schedule in words) and webhook endpoints. */
export function ProjectDetail () {
  const { id = '' } = useParams()
  const { api } = useSession()
  const [f, set] = useFilters(['q', 'enabled', 'cursor'] as const)
  const project = useQuery({ queryKey: ['project', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/projects/{id}', { params: { path: { id } } })) })
  const tasks = useQuery({
    queryKey: ['tasks', id, f],
    queryFn: async () => unwrap(await api.client.GET('/api/v1/projects/{id}/tasks', { params: { path: { id }, query: { limit: 20, ...defined({ q: f.q, cursor: f.cursor }), ...(f.enabled === '' ? {} : { enabled: f.enabled === 'true' }) } } }))
  })
  const hooks = useQuery({ queryKey: ['webhooks', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/projects/{id}/webhooks', { params: { path: { id }, query: { limit: 100 } } })) })
  return (
    <>
      <h1>{project.data?.name ?? 'Project'}</h1>
      <ProblemAlert error={project.error} />
      <p>{project.data?.description}</p>
      <p><Link to={`/executions?projectId=${id}`}>Executions of this project</Link></p>
      <section aria-labelledby='tasks'>
        <h2 id='tasks'>Tasks</h2>
        <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
          <label>Search tasks<input type='search' value={f.q} onChange={(e) => set('q', e.target.value)} /></label>
          <label>State
            <select value={f.enabled} onChange={(e) => set('enabled', e.target.value)}>
              <option value=''>any</option><option value='true'>enabled</option><option value='false'>paused</option>
            </select>
          </label>
        </form>
        <ProblemAlert error={tasks.error} />
        {tasks.isPending
          ? <Loading what='tasks' />
          : (
            <table>
              <thead><tr><th scope='col'>Task</th><th scope='col'>Schedule</th><th scope='col'>Next run</th><th scope='col'>State</th></tr></thead>
              <tbody>{tasks.data?.items.map((t) => (
                <tr key={t.id}><td><Link to={`/tasks/${t.id}`}>{t.name}</Link></td><td>{describeSchedule(t.schedule, t.timezone)}</td><td>{when(t.nextRunAt)}</td><td>{t.enabled ? 'enabled' : 'paused'}</td></tr>
              ))}
              </tbody>
            </table>)}
        <Pager nextCursor={tasks.data?.nextCursor} />
      </section>
      <section aria-labelledby='hooks'>
        <h2 id='hooks'>Webhook endpoints</h2>
        <ProblemAlert error={hooks.error} />
        {hooks.data?.items.length === 0 && <p>No endpoints.</p>}
        <ul>{hooks.data?.items.map((h) => <li key={h.id}><Link to={`/webhooks/${h.id}`}>{h.url}</Link> {h.enabled ? '' : `(disabled: ${h.disabledReason ?? 'by hand'})`} — {h.eventTypes.join(', ')}</li>)}</ul>
      </section>
    </>
  )
}
