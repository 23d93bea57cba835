// `node bench/upload.ts`: one large file streamed over real HTTP into Backplane (local disk, or a
// real S3 server on loopback with --s3), with the process's RSS sampled throughout: an upload must
// hold memory flat whatever its size. Not a timed test; run `node bench/upload.ts --help`.
import '../src/platform/module-hooks.ts'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { hashPassword } from '../src/modules/auth/index.ts'
import { startEmbeddedPostgres } from '../src/platform/adapters/embedded-postgres.ts'
import { runMigrations } from '../src/platform/migrate.ts'
import { intOption } from './lib/report.ts'

const USAGE = `Usage: node bench/upload.ts [options]
  --mib <n>   size of the upload in MiB (BENCH_UPLOAD_MIB, default 1024)
  --s3        store in a real S3 server (s3rver) on loopback instead of local disk
  --help`

const { values: flags } = parseArgs({ options: { mib: { type: 'string' }, s3: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
const mib = intOption('--mib', flags.mib ?? process.env.BENCH_UPLOAD_MIB, 1024)
const MiB = 1024 * 1024
const rssMiB = () => Math.round(process.memoryUsage().rss / MiB)

const dir = await mkdtemp(join(tmpdir(), 'backplane-bench-upload-'))
const pgDir = await mkdtemp(join(tmpdir(), 'backplane-bench-upload-pg-'))
const embedded = await startEmbeddedPostgres(pgDir, pino({ level: 'warn' }))
let s3: { storageUrl: string, close: () => Promise<void> } | undefined
try {
  await runMigrations(embedded.url)
  if (flags.s3) {
    const { startTestS3 } = await import('../test/helpers/s3.ts')
    s3 = await startTestS3()
  }
  const app = await buildApp(loadConfig({
    BACKPLANE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dir, 'data'),
    FILES_MAX_BYTES: String((mib + 1) * MiB),
    FILES_PROJECT_QUOTA_BYTES: String((mib + 1) * MiB),
    REQUEST_TIMEOUT_MS: '600000',
    ...(s3 ? { STORAGE_URL: s3.storageUrl } : {})
  }, { filesOff: true }), { databaseUrl: embedded.url })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as { port: number }
    const email = `bench-${Date.now()}@example.com`
    const password = 'bench-password-0123456789'
    await app.users.create({ email, passwordHash: await hashPassword(password), roles: ['user'], emailVerified: true })
    const { accessToken } = (await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })).json() as { accessToken: string }
    const { id: projectId } = (await app.inject({ method: 'POST', url: '/api/v1/projects', headers: { authorization: `Bearer ${accessToken}` }, payload: { name: 'bench' } })).json() as { id: string }

    // One 1 MiB buffer sent again and again: the client itself holds no more than that.
    const block = Buffer.alloc(MiB, 0x61)
    const body = Readable.from((function * () { for (let i = 0; i < mib; i++) yield block })())
    global.gc?.()
    const before = rssMiB()
    let peak = before
    const samples: number[] = []
    const sampler = setInterval(() => { const r = rssMiB(); samples.push(r); peak = Math.max(peak, r) }, 100)
    const started = performance.now()
    const reply = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/api/v1/projects/${projectId}/files?name=big.bin`, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/octet-stream', 'content-length': mib * MiB } }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
      })
      req.on('error', reject)
      body.pipe(req)
    })
    const seconds = (performance.now() - started) / 1000
    clearInterval(sampler)
    if (reply.status !== 201) throw new Error(`upload failed: ${reply.status} ${reply.body}`)
    const file = JSON.parse(reply.body) as { size: number, sha256: string }
    process.stdout.write([
      `Upload of ${mib} MiB to ${flags.s3 ? 'S3 (s3rver on loopback)' : 'local disk'}: HTTP ${reply.status}, size ${file.size}, sha256 ${file.sha256.slice(0, 16)}…`,
      `  time ${seconds.toFixed(1)} s (${Math.round(mib / seconds)} MiB/s)`,
      `  RSS before ${before} MiB, peak ${peak} MiB (+${peak - before} MiB), median during ${samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? before} MiB, ${samples.length} samples`
    ].join('\n') + '\n')
  } finally {
    await app.close()
  }
} finally {
  await s3?.close()
  await embedded.stop()
  await rm(dir, { recursive: true, force: true })
  await rm(pgDir, { recursive: true, force: true })
}
