import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../helpers/process.ts'

/** SECRETS are the settings of deploy/compose/.env.example an operator must fill in. */
export const SECRETS = ['BACKPLANE_SECRET', 'METRICS_TOKEN', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'RABBITMQ_PASSWORD', 'PGADMIN_PASSWORD', 'GRAFANA_PASSWORD']

/**
 * copyDeployTree copies deploy/ into a fresh temporary folder (docker-compose resolves paths
 * relative to the compose file, and a test must not leave a .env in the repository) and returns
 * the compose folder of the copy.
 */
export async function copyDeployTree (): Promise<{ root: string, compose: string }> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-compose-'))
  await cp(join(projectRoot, 'deploy'), join(root, 'deploy'), { recursive: true })
  return { root, compose: join(root, 'deploy', 'compose') }
}

/** writeEnv writes compose's .env from .env.example with every empty secret filled in. */
export async function writeEnv (composeDir: string, overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const values: Record<string, string> = {}
  const lines = (await readFile(join(composeDir, '.env.example'), 'utf8')).split('\n').map((line) => {
    const m = /^([A-Z_]+)=(.*)$/.exec(line)
    if (!m) return line
    const key = m[1]!
    const value = overrides[key] ?? (SECRETS.includes(key) && m[2] === '' ? randomBytes(24).toString('hex') : m[2]!)
    values[key] = value
    return `${key}=${value}`
  })
  await writeFile(join(composeDir, '.env'), lines.join('\n'), { mode: 0o600 })
  return values
}
