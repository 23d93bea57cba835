import type { RouteObject } from 'react-router'
import { Layout } from './Layout.tsx'
import { Overview } from '../pages/Overview.tsx'
import { Users } from '../pages/Users.tsx'
import { UserDetail } from '../pages/UserDetail.tsx'
import { Projects, ProjectDetail } from '../pages/Projects.tsx'
import { TaskDetail } from '../pages/TaskDetail.tsx'
import { Executions } from '../pages/Executions.tsx'
import { ExecutionDetail } from '../pages/ExecutionDetail.tsx'
import { Agents } from '../pages/Agents.tsx'
import { Audit } from '../pages/Audit.tsx'
import { Queue } from '../pages/Queue.tsx'
import { WebhookDetail } from '../pages/Webhooks.tsx'
import { Frontends } from '../pages/Frontends.tsx'
import { Settings } from '../pages/Settings.tsx'

/** routes are the console's pages; the URL (path and query) holds every view's state. */
export const routes: RouteObject[] = [{
  path: '/',
  element: <Layout />,
  children: [
    { index: true, element: <Overview /> },
    { path: 'users', element: <Users /> },
    { path: 'users/:id', element: <UserDetail /> },
    { path: 'projects', element: <Projects /> },
    { path: 'projects/:id', element: <ProjectDetail /> },
    { path: 'tasks/:id', element: <TaskDetail /> },
    { path: 'executions', element: <Executions /> },
    { path: 'executions/:id', element: <ExecutionDetail /> },
    { path: 'agents', element: <Agents /> },
    { path: 'audit', element: <Audit /> },
    { path: 'queue', element: <Queue /> },
    { path: 'webhooks/:id', element: <WebhookDetail /> },
    { path: 'frontends', element: <Frontends /> },
    { path: 'settings', element: <Settings /> },
    { path: '*', element: <p role='alert'>No such page. Use the navigation above.</p> }
  ]
}]
