import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { useFilters } from '../ui/Pager.tsx'
import { ConfirmAction } from '../ui/Confirm.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { BarChart } from '../ui/BarChart.tsx'
import { when } from '../lib/format.ts'

/** Queue shows each job name's depths, and the dead letters of the one chosen (in the URL), each retryable. */
export function Queue () {
  const { api } = useSession()
  const [f, set] = useFilters(['name'] as const)
  const stats = useQuery({ queryKey: ['queue'], refetchInterval: 5_000, queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/queue')) })
  const dead = useQuery({
    queryKey: ['dead-letters', f.name],
    enabled: f.name !== '',
    queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/queue/{name}/dead-letters', { params: { path: { name: f.name }, query: { limit: 100 } } }))
  })
  const retry = async (id: string) => {
    unwrap(await api.client.POST('/api/v1/admin/queue/{name}/dead-letters/{id}/retry', { params: { path: { name: f.name, id } } }))
    await Promise.all([dead.refetch(), stats.refetch()])
  }
  return (
    <>
      <h1>Queue and dead letters</h1>
      <ProblemAlert error={stats.error} />
      {stats.isPending
        ? <Loading what='the queue' />
        : (
          <>
            <p className='muted'>Adapter: {stats.data?.adapter}</p>
            <table>
              <thead><tr><th scope='col'>Job</th><th scope='col'>Queued</th><th scope='col'>Active</th><th scope='col'>Failed</th><th scope='col'>Dead letters</th></tr></thead>
              <tbody>{stats.data?.queues.map((q) => (
                <tr key={q.name}>
                  <th scope='row'>{q.name}</th><td>{q.queued}</td><td>{q.active}</td><td>{q.failed}</td>
                  <td>{q.deadLetters === 0 ? 0 : <button type='button' aria-pressed={f.name === q.name} onClick={() => set('name', q.name)}>{q.deadLetters} — inspect<span className='sr-only'> dead letters of {q.name}</span></button>}</td>
                </tr>
              ))}
              </tbody>
            </table>
            <BarChart title='Dead letters per job' bars={(stats.data?.queues ?? []).filter((q) => q.deadLetters > 0).map((q) => ({ label: q.name, value: q.deadLetters, tone: 'bad' }))} />
          </>)}
      {f.name !== '' && (
        <section aria-labelledby='dead'>
          <h2 id='dead'>Dead letters of {f.name}</h2>
          <ProblemAlert error={dead.error} />
          {dead.data?.items.length === 0 && <p>None left.</p>}
          <ul className='dead'>{dead.data?.items.map((d) => (
            <li key={d.id}>
              <p><strong>{when(d.failedAt)}</strong> — {d.error ?? 'no error message'}</p>
              <pre tabIndex={0} aria-label={`Payload of ${d.id}`}>{JSON.stringify(d.data, null, 2)}</pre>
              <ConfirmAction label='Retry' danger={false} question={`Send this ${f.name} job back to the queue for another round of attempts?`} onConfirm={() => retry(d.id)} />
            </li>
          ))}
          </ul>
        </section>
      )}
    </>
  )
}
