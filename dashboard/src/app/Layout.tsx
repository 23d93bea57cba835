import { NavLink, Outlet } from 'react-router'
import { useSession } from '../session/context.ts'

const sections = [
  ['/', 'Overview'], ['/users', 'Users'], ['/projects', 'Projects'], ['/executions', 'Executions'], ['/agents', 'Agents'],
  ['/audit', 'Audit log'], ['/queue', 'Queue'], ['/frontends', 'Frontends'], ['/settings', 'Settings']
] as const

/** Layout is the console's frame: a skip link, the navigation, who is signed in, and sign-out. */
export function Layout () {
  const { me, signOut } = useSession()
  return (
    <>
      <a href='#main' className='skip'>Skip to content</a>
      <header className='top'>
        <span className='brand'>Backplane</span>
        <nav aria-label='Sections'>
          <ul>{sections.map(([to, label]) => <li key={to}><NavLink to={to} end={to === '/'}>{label}</NavLink></li>)}</ul>
        </nav>
        <div className='who'>
          <span>{me?.email}</span>
          <button type='button' onClick={() => { signOut(false) }}>Sign out</button>
          <button type='button' onClick={() => { signOut(true) }}>Sign out everywhere</button>
        </div>
      </header>
      <main id='main' tabIndex={-1}><Outlet /></main>
    </>
  )
}
