import { randomBytes } from 'node:crypto'
import type { Actor } from '../../platform/auth.ts'
import type { DemoContext } from '../../platform/modules.ts'
import { SYSTEM_CONTEXT, type AuditContext } from '../../platform/security-events.ts'
import { hashPassword } from '../auth/index.ts'
import { DEMO_REFUSED } from './errors.ts'

/** DEMO_EMAIL is the demo account's address; its presence means the demo data was added already. */
export const DEMO_EMAIL = 'demo@backplane.example'
/** DEMO_LABEL is the label the demo agent holds and the demo tasks target. */
export const DEMO_LABEL = 'demo'

// What the seed makes is audited as the system's.
const DEMO_CONTEXT: AuditContext = { ...SYSTEM_CONTEXT, by: 'demo seed' }

/**
 * addDemoData adds, once, a demo account (its password generated and reported once), a project it
 * owns, two scheduled tasks for agents labelled `demo`, and one such agent (its key reported once).
 * It refuses in production, where a known account with printed credentials has no place.
 */
export async function addDemoData ({ app, report }: DemoContext): Promise<void> {
  if (app.config.env === 'production') {
    throw new Error(DEMO_REFUSED)
  }
  if (await app.users.findForLogin(DEMO_EMAIL)) {
    report(`demo data is there already (account ${DEMO_EMAIL}); nothing added`)
    return
  }
  const password = randomBytes(12).toString('base64url')
  const created = { context: DEMO_CONTEXT, event: (row: { id: string }) => ({ action: 'user.created', outcome: 'success' as const, targetType: 'user', targetId: row.id, details: { roles: ['user'] } }) }
  const user = await app.users.create({ email: DEMO_EMAIL, name: 'Demo User', passwordHash: await hashPassword(password), roles: ['user'], emailVerified: true }, created)
  const actor: Actor = { kind: 'user', userId: user.id, roles: ['user'], permissions: app.rbac.permissionsOf(['user']) }
  const project = await app.projects.create(actor, { name: 'Demo project', description: 'Made by backplane seed --demo' }, DEMO_CONTEXT)
  const target = { labels: [DEMO_LABEL] }
  const nightly = await app.tasks.create(actor, project.id, {
    name: 'Nightly report', description: 'Builds the daily report at 02:00 London time', schedule: '0 2 * * *', timezone: 'Europe/London', payload: { report: 'daily' }, target, timeoutSeconds: 300
  })
  const probe = await app.tasks.create(actor, project.id, {
    name: 'Health probe', description: 'Every five minutes', schedule: '*/5 * * * *', timezone: 'UTC', payload: { url: 'http://localhost:8080/health/ready' }, target, timeoutSeconds: 30, retry: { maxAttempts: 3, backoffSeconds: 10 }
  })
  const { agent, apiKey } = await app.agents.register(actor, { name: 'demo-agent', description: 'Run examples/agent.ts with this key', labels: [DEMO_LABEL], projectId: project.id }, DEMO_CONTEXT)
  report(`demo account   ${DEMO_EMAIL}  password ${password}   (shown once)`)
  report(`demo project   ${project.id}  "${project.name}" with tasks "${nightly.name}" and "${probe.name}"`)
  report(`demo agent     ${agent.id}  key ${apiKey}   (shown once)`)
  report('run the agent: BACKPLANE_URL=http://localhost:8080 BACKPLANE_AGENT_KEY=<key> node examples/agent.ts')
}
