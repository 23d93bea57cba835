import { ProblemError } from '../session/api.ts'

/** ProblemAlert shows an API refusal as the API worded it (problem+json title and detail). */
export function ProblemAlert ({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null
  const problem = error instanceof ProblemError ? error.problem : { title: 'Request failed', detail: error instanceof Error ? error.message : String(error) }
  return (
    <div role='alert' className='problem'>
      <strong>{problem.title ?? 'Refused'}{problem.status === undefined ? '' : ` (${problem.status})`}</strong>
      {problem.detail === undefined ? null : <p>{problem.detail}</p>}
    </div>
  )
}

/** Loading is what a panel shows while its data is on the way. */
export function Loading ({ what }: { what: string }) {
  return <p role='status' className='muted'>Loading {what}…</p>
}
