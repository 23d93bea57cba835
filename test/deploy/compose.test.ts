import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { projectRoot } from '../helpers/process.ts'
import { copyDeployTree, writeEnv } from './compose-stack.ts'
import { hasTool, run } from './tools.ts'

const ready = hasTool('docker-compose', ['version'])

interface Service {
  image?: string
  ports?: Array<string | { host_ip?: string, published?: string | number, target: number }>
  profiles?: string[]
  restart?: string
  environment?: Record<string, string | null>
  depends_on?: Record<string, { condition: string }>
  deploy?: { replicas?: number }
  volumes?: Array<string | { type: string, source: string, target: string }>
  networks?: Record<string, { ipv4_address?: string } | null>
  read_only?: boolean
  cap_drop?: string[]
  command?: string[]
  stop_grace_period?: string
}
interface Composed { services: Record<string, Service>, volumes?: Record<string, unknown>, networks?: Record<string, unknown> }

describe.skipIf(!ready)('deploy/compose with docker-compose', () => {
  let root = ''
  let composeDir = ''
  let composed: Composed

  const compose = (args: string[], env: NodeJS.ProcessEnv = {}) => run('docker-compose', args, { cwd: composeDir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })

  beforeAll(async () => {
    ({ root, compose: composeDir } = await copyDeployTree())
    await writeEnv(composeDir)
    const result = compose(['--profile', 'tools', '--profile', 'observability', 'config'])
    expect(result.status, result.output).toBe(0)
    composed = parse(result.stdout) as Composed
  })

  afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }) })

  it('config -q accepts the stack, alone and with each profile and the TLS template', () => {
    for (const args of [[], ['--profile', 'tools'], ['--profile', 'observability']]) {
      const result = compose([...args, 'config', '-q'])
      expect(result.status, result.output).toBe(0)
    }
    const tls = compose(['config'], { NGINX_TEMPLATE: 'backplane-tls.conf.template' })
    expect(tls.status, tls.output).toBe(0)
    const template = (parse(tls.stdout) as Composed).services.nginx!.volumes!.map(String).find((v) => v.includes('/etc/nginx/templates/'))!
    expect(existsSync(template.split(':')[0]!)).toBe(true)
  })

  it('refuses to start without a secret, naming it', async () => {
    await writeEnv(composeDir, { BACKPLANE_SECRET: '' })
    const result = compose(['config', '-q'])
    await writeEnv(composeDir)
    expect(result.status).not.toBe(0)
    expect(result.output).toContain('set BACKPLANE_SECRET in .env')
  })

  it('publishes only nginx on the host network; tools only on loopback and behind a profile', () => {
    for (const [name, service] of Object.entries(composed.services)) {
      const ports = (service.ports ?? []).map((p) => typeof p === 'string' ? p : `${p.host_ip ?? ''}:${p.published}:${p.target}`)
      if (name === 'nginx') {
        expect(ports.length).toBeGreaterThan(0)
        continue
      }
      for (const port of ports) {
        expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/)
        expect(service.profiles?.length, `${name} is published but in no profile`).toBeGreaterThan(0)
      }
    }
    expect(composed.services.pgadmin!.profiles).toEqual(['tools'])
    expect(composed.services.prometheus!.profiles).toEqual(['observability'])
    expect(composed.services.grafana!.profiles).toEqual(['observability'])
  })

  it('runs several Backplane replicas after a one-shot migration, on healthy services', () => {
    const backplane = composed.services.backplane!
    expect(backplane.deploy?.replicas).toBeGreaterThanOrEqual(2)
    expect(backplane.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      rabbitmq: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' }
    })
    expect(composed.services.migrate!.command).toEqual(['migrate'])
    expect(composed.services.migrate!.restart).toBe('no')
    expect(composed.services.nginx!.depends_on).toEqual({ backplane: { condition: 'service_healthy' } })
    expect(composed.services.postgres!.image).toMatch(/^postgres:18\b/)
    expect(composed.services.rabbitmq!.image).toMatch(/management/)
  })

  it('gives every long-running service a restart policy, and Backplane a read-only root without capabilities', () => {
    for (const [name, service] of Object.entries(composed.services)) {
      if (name === 'migrate') continue
      expect(service.restart, name).toBe('unless-stopped')
    }
    const backplane = composed.services.backplane!
    expect(backplane.read_only).toBe(true)
    expect(backplane.cap_drop).toEqual(['ALL'])
    // Docker's grace period covers the drain: readiness 503 for SHUTDOWN_DELAY_MS, then up to SHUTDOWN_TIMEOUT_MS.
    const env = backplane.environment!
    const graceSeconds = Number.parseInt(backplane.stop_grace_period ?? '10', 10)
    expect(graceSeconds * 1000).toBeGreaterThan(Number(env.SHUTDOWN_DELAY_MS) + Number(env.SHUTDOWN_TIMEOUT_MS))
  })

  it('keeps data in named volumes on one private network', () => {
    expect(Object.keys(composed.volumes ?? {})).toEqual(expect.arrayContaining(['postgres-data', 'redis-data', 'rabbitmq-data']))
    expect(String(composed.services.postgres!.volumes![0])).toMatch(/^postgres-data:\/var\/lib\/postgresql/)
    expect(Object.keys(composed.networks ?? {})).toEqual(['backplane'])
    for (const [name, service] of Object.entries(composed.services)) expect(Object.keys(service.networks ?? {}), name).toEqual(['backplane'])
  })

  it('gives Backplane settings it accepts in production, trusting only nginx and matching its body limit', () => {
    const env = Object.fromEntries(Object.entries(composed.services.backplane!.environment!).map(([k, v]) => [k, v ?? '']))
    const config = loadConfig(env, { filesOff: true })
    expect(config.production).toBe(true)
    expect(config.db.embedded).toBe(false)
    const nginx = composed.services.nginx!
    expect(env.TRUST_PROXY).toBe(nginx.networks!.backplane!.ipv4_address)
    expect(nginx.environment!.BODY_LIMIT_BYTES).toBe(env.BODY_LIMIT_BYTES)
    expect(nginx.environment!.BACKPLANE_UPSTREAM_SERVERS).toMatch(/^server backplane:8080 /)
    expect(composed.services.migrate!.environment).toEqual(composed.services.backplane!.environment)
    // Several replicas on local storage only because they share one files volume (else STORAGE_URL).
    expect(config.storage.localAllowedInProduction).toBe(true)
    expect((composed.services.backplane!.volumes ?? []).map(String)).toEqual(expect.arrayContaining([expect.stringMatching(/^files-data:\/data\/files/)]))
  })

  it('scrapes /metrics with METRICS_TOKEN and loads the mounted rules and dashboards', () => {
    const prometheusYml = parse(readFileSync(join(composeDir, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      rule_files: string[], scrape_configs: Array<{ job_name: string, metrics_path?: string, authorization?: { credentials_file: string } }>
    }
    const job = prometheusYml.scrape_configs.find((j) => j.job_name === 'backplane')!
    expect(job.metrics_path).toBe('/metrics')
    const prometheus = composed.services.prometheus!
    expect(prometheus.environment!.METRICS_TOKEN).toBe(composed.services.backplane!.environment!.METRICS_TOKEN)
    expect(JSON.stringify(prometheus)).toContain(job.authorization!.credentials_file)
    const mounts = prometheus.volumes!.map(String)
    expect(mounts.some((m) => m.endsWith('/deploy/observability/prometheus/rules:/etc/prometheus/rules:ro'))).toBe(true)
    expect(prometheusYml.rule_files).toEqual(['/etc/prometheus/rules/*.yml'])
    const grafanaMounts = composed.services.grafana!.volumes!.map(String)
    expect(grafanaMounts.some((m) => m.endsWith('/deploy/observability/grafana/dashboards:/etc/grafana/dashboards:ro'))).toBe(true)
  })

  it.skipIf(!hasTool('promtool', ['--version']))('prometheus.yml passes promtool check config (token file and rules folder as mounted)', async () => {
    // promtool stats the token file and globs the rules: point both at what the containers would see.
    const dir = await mkdtemp(join(tmpdir(), 'backplane-promtool-'))
    try {
      await writeFile(join(dir, 'metrics_token'), 'x'.repeat(32))
      const rules = join(projectRoot, 'deploy', 'observability', 'prometheus', 'rules')
      const text = readFileSync(join(composeDir, 'prometheus', 'prometheus.yml'), 'utf8')
        .replaceAll('/run/secrets/metrics_token', join(dir, 'metrics_token'))
        .replaceAll('/etc/prometheus/rules', rules)
      await writeFile(join(dir, 'prometheus.yml'), text)
      const check = run('promtool', ['check', 'config', join(dir, 'prometheus.yml')])
      expect(check.status, check.output).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('pre-registers the stack\'s PostgreSQL in pgAdmin', () => {
    const servers = JSON.parse(readFileSync(join(composeDir, 'pgadmin', 'servers.json'), 'utf8')) as { Servers: Record<string, { Host: string, Port: number, Username: string, MaintenanceDB: string }> }
    const postgres = composed.services.postgres!.environment!
    expect(Object.values(servers.Servers)).toEqual([expect.objectContaining({ Host: 'postgres', Port: 5432, Username: postgres.POSTGRES_USER, MaintenanceDB: postgres.POSTGRES_DB })])
  })

  it('never commits the real .env or certificates (gitignored)', () => {
    for (const path of ['deploy/compose/.env', 'deploy/compose/certs/tls.key']) {
      expect(run('git', ['check-ignore', '-q', path], { cwd: projectRoot }).status, path).toBe(0)
    }
    expect(run('git', ['check-ignore', '-q', 'deploy/compose/.env.example'], { cwd: projectRoot }).status).toBe(1)
  })
})
