import { Command } from 'commander'
import { loadConfig } from '../config.ts'
import { SYSTEM_CONTEXT, type AuditContext, type SecurityEvent } from '../platform/security-events.ts'
import { ADMIN_ROLE } from '../platform/rbac.ts'
import { withApp } from './app-session.ts'

// Changes made here are audited as the system's, through the CLI.
const CLI_CONTEXT: AuditContext = { ...SYSTEM_CONTEXT, by: 'cli' }

interface Options { email?: string, name?: string, password?: string, passwordStdin?: boolean }

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function ask (options: Options, minLength: number): Promise<Required<Pick<Options, 'email' | 'password'>> & { name: string }> {
  let { email, password, name } = options
  if (options.passwordStdin) password = await readStdin()
  if (email && password) return { email, password, name: name ?? '' }
  if (!process.stdin.isTTY) throw new Error('create-admin needs --email and --password-stdin (or --password) when not run in a terminal')
  const prompts = await import('@clack/prompts')
  const stop = (value: unknown): string => {
    if (prompts.isCancel(value)) throw new Error('cancelled')
    return String(value)
  }
  prompts.intro('Create a Backplane admin')
  email ??= stop(await prompts.text({ message: 'Email', validate: (v) => (v && /.+@.+\..+/.test(v) ? undefined : 'Enter an email address') }))
  name ??= stop(await prompts.text({ message: 'Name (optional)', defaultValue: '' }))
  if (password === undefined) {
    // The whole policy (length, common passwords, the email or name inside) is checked at the
    // prompt, so a refused password asks again instead of ending the command after every answer.
    const { checkPasswordPolicy } = await import('../modules/auth/passwords.ts')
    const context = [email.split('@')[0] ?? '', name]
    const refusal = (v: string | undefined): string | undefined => {
      try { checkPasswordPolicy(v ?? '', minLength, context) } catch (err) { return (err as { detail?: string }).detail ?? 'Choose another password' }
      return undefined
    }
    const chosen = stop(await prompts.password({ message: `Password (${minLength}+ characters)`, validate: refusal }))
    stop(await prompts.password({ message: 'Password again', validate: (v) => (v === chosen ? undefined : 'The passwords differ') }))
    password = chosen
  }
  return { email, password, name }
}

/** createAdminCommand is `backplane create-admin`: make an admin account (or make an existing account admin). */
export function createAdminCommand (): Command {
  return new Command('create-admin')
    .description('create an admin account, or grant admin to an existing one (prompts when run in a terminal)')
    .option('--email <email>', 'the admin email address')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--password <password>', 'the password (visible to other local users in the process list; prefer --password-stdin)')
    .action(async (options: Options) => {
      const config = loadConfig()
      const input = await ask(options, config.auth.passwordMinLength)
      const { checkPasswordPolicy, hashPassword } = await import('../modules/auth/passwords.ts')
      const result = await withApp(config, async (app) => {
        const existing = await app.users.findForLogin(input.email)
        if (existing) {
          if (existing.roles.includes(ADMIN_ROLE)) return `${existing.email} is already an admin`
          await app.users.adminUpdate(CLI_CONTEXT, existing.id, { roles: [...existing.roles, ADMIN_ROLE] })
          return `granted admin to existing account ${existing.email}`
        }
        checkPasswordPolicy(input.password, config.auth.passwordMinLength, [input.email.split('@')[0] ?? '', input.name])
        const created = (row: { id: string }): SecurityEvent => ({ action: 'user.created', outcome: 'success', targetType: 'user', targetId: row.id, details: { roles: [ADMIN_ROLE] } })
        const user = await app.users.create({ email: input.email, name: input.name, passwordHash: await hashPassword(input.password), roles: [ADMIN_ROLE], emailVerified: true }, { context: CLI_CONTEXT, event: created })
        return `created admin ${user.email} (${user.id})`
      })
      process.stdout.write(`${result}\n`)
    })
}
