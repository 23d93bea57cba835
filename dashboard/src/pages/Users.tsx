import { useState } from 'react'
import type { FormEvent } from 'react'
import { Link } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { unwrap } from '../session/api.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { when } from '../lib/format.ts'

/** Users lists accounts with search and filters (in the URL), and invites or creates people. */
export function Users () {
  const { api } = useSession()
  const [f, set] = useFilters(['q', 'role', 'status', 'cursor'] as const)
  const list = useQuery({
    queryKey: ['users', f],
    queryFn: async () => unwrap(await api.client.GET('/api/v1/admin/users', { params: { query: { limit: 20, ...defined({ q: f.q, role: f.role, cursor: f.cursor }), ...(f.status === '' ? {} : { status: f.status as 'active' }) } } }))
  })
  return (
    <>
      <h1>Users</h1>
      <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
        <label>Search<input type='search' value={f.q} onChange={(e) => set('q', e.target.value)} placeholder='email or name' /></label>
        <label>Role<input value={f.role} onChange={(e) => set('role', e.target.value)} placeholder='admin' /></label>
        <label>Status
          <select value={f.status} onChange={(e) => set('status', e.target.value)}>
            <option value=''>any</option><option value='active'>active</option><option value='disabled'>disabled</option><option value='deleted'>deleted</option>
          </select>
        </label>
      </form>
      <ProblemAlert error={list.error} />
      {list.isPending
        ? <Loading what='users' />
        : (
          <table>
            <caption className='sr-only'>Users</caption>
            <thead><tr><th scope='col'>Email</th><th scope='col'>Name</th><th scope='col'>Roles</th><th scope='col'>Status</th><th scope='col'>Last sign-in</th></tr></thead>
            <tbody>
              {list.data?.items.map((u) => (
                <tr key={u.id}>
                  <td><Link to={`/users/${u.id}`}>{u.email}</Link></td><td>{u.name}</td><td>{u.roles.join(', ')}</td>
                  <td><span className={`badge ${u.status === 'active' ? 'good' : 'bad'}`}>{u.status}</span></td><td>{when(u.lastLoginAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>)}
      <Pager nextCursor={list.data?.nextCursor} />
      <AddPeople />
    </>
  )
}

function AddPeople () {
  const { api } = useSession()
  const queries = useQueryClient()
  const [email, setEmail] = useState('')
  const [name, setName] = useState('')
  const [done, setDone] = useState('')
  const invite = useMutation({
    mutationFn: async () => unwrap(await api.client.POST('/api/v1/admin/invitations', { body: { email } })),
    onSuccess: () => setDone(`Invitation sent to ${email}.`)
  })
  const create = useMutation({
    mutationFn: async () => unwrap(await api.client.POST('/api/v1/admin/users', { body: { email, ...(name === '' ? {} : { name }) } })),
    onSuccess: async (u) => { setDone(`Created ${u.email}: they choose a password from the mailed link.`); await queries.invalidateQueries({ queryKey: ['users'] }) }
  })
  const submit = (e: FormEvent) => { e.preventDefault(); setDone(''); create.mutate() }
  return (
    <section aria-labelledby='add'>
      <h2 id='add'>Add someone</h2>
      <form onSubmit={submit} className='filters'>
        <label>Email<input type='email' required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Name<input value={name} onChange={(e) => setName(e.target.value)} /></label>
        <button type='submit'>Create account</button>
        <button type='button' onClick={() => { setDone(''); invite.mutate() }} disabled={email === ''}>Send invitation</button>
      </form>
      <ProblemAlert error={create.error ?? invite.error} />
      {done !== '' && <p role='status'>{done}</p>}
    </section>
  )
}
