import { useState } from 'react'
import { Link, useParams } from 'react-router'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { useLiveChannel } from '../session/live.ts'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { when } from '../lib/format.ts'
import { statusTone } from './Executions.tsx'

interface Step { id: string, event: string, at: string, detail: string }
const ENDED = new Set(['succeeded', 'failed', 'timed_out', 'cancelled'])

/**
 * ExecutionDetail is one run, live: it follows the run's project channel (or `admin` for runs
 * without a project) and refetches the run on each of its events, so the timeline, progress,
 * logs and result move as the agent reports them.
 */
export function ExecutionDetail () {
  const { id = '' } = useParams()
  const { api } = useSession()
  const queries = useQueryClient()
  const [steps, setSteps] = useState<Step[]>([])
  const run = useQuery({ queryKey: ['execution', id], queryFn: async () => unwrap(await api.client.GET('/api/v1/executions/{id}', { params: { path: { id } } })) })
  const channel = run.data === undefined ? null : (run.data.projectId === null ? 'admin' : `project:${run.data.projectId}`)
  const live = useLiveChannel(api, channel, (e) => {
    if (e !== null) {
      const data = e.data as { id?: string, progress?: number | null, status?: string }
      if (data.id !== id) return
      setSteps((s) => s.some((x) => x.id === e.id) ? s : [...s, { id: e.id, event: e.event, at: e.at, detail: data.progress == null ? (data.status ?? '') : `${data.progress} %` }])
    }
    queries.invalidateQueries({ queryKey: ['execution', id] })
  })
  if (run.isPending) return <Loading what='the execution' />
  if (run.data === undefined) return <ProblemAlert error={run.error} />
  const x = run.data
  return (
    <>
      <h1>Execution of {x.taskId === null ? x.taskName : <Link to={`/tasks/${x.taskId}`}>{x.taskName}</Link>}</h1>
      <p>
        <span className={`badge ${statusTone(x.status)}`} role='status' aria-live='polite' aria-label={`Status: ${x.status}`}>{x.status}</span>{' '}
        <span className='muted'>live: {live}</span>
      </p>
      <label className='progress'>Progress <progress max={100} value={x.progress ?? (x.status === 'succeeded' ? 100 : 0)}>{x.progress ?? 0} %</progress> {x.progress ?? 0} %</label>
      <dl className='facts'>
        <dt>Trigger</dt><dd>{x.trigger}, attempt {x.attempt} of {x.maxAttempts}</dd>
        <dt>Agent</dt><dd>{x.agentId ?? 'not claimed yet'}</dd>
        <dt>Duration</dt><dd>{x.durationMs === null ? '—' : `${x.durationMs} ms`}</dd>
        {x.error !== null && <><dt>Error</dt><dd>{x.error}</dd></>}
      </dl>
      {!ENDED.has(x.status) && <ConfirmAction label='Cancel run' question='Cancel this run? The agent is told to stop.' onConfirm={async () => { unwrap(await api.client.POST('/api/v1/executions/{id}/cancel', { params: { path: { id } } })); await run.refetch() }} />}
      <section aria-labelledby='timeline'>
        <h2 id='timeline'>Timeline</h2>
        <ol className='timeline'>
          <li>Created {when(x.createdAt)}</li>
          {x.startedAt !== null && <li>Started {when(x.startedAt)}</li>}
          {steps.map((s) => <li key={s.id}><code>{s.event}</code> {when(s.at)} {s.detail}</li>)}
          {x.finishedAt !== null && <li>Finished {when(x.finishedAt)} ({x.status})</li>}
        </ol>
      </section>
      <section aria-labelledby='logs'>
        <h2 id='logs'>Logs</h2>
        <pre tabIndex={0} aria-label='Logs' className='logs'>{x.logs === '' ? '(none yet)' : x.logs}</pre>
      </section>
      {x.result !== null && x.result !== undefined && (
        <section aria-labelledby='result'><h2 id='result'>Result</h2><pre tabIndex={0} aria-label='Result JSON'>{JSON.stringify(x.result, null, 2)}</pre></section>
      )}
    </>
  )
}
