// `npm run fuzz:contract`: a contract fuzz of every operation of the served OpenAPI document by outside
// tools — Portman turns GET /openapi.json into a Postman collection with contract tests and fuzzing
// variations (missing required fields, numbers past their minimum/maximum, strings past their
// length bounds), newman runs it, once as a plain user and once as an admin. The gate: no 5xx and
// no status the document does not list for the operation. Portman's own assertions (content type,
// JSON body, response schema on the documented success) are reported beside it.
// The tools live in bench/contract/ with a package.json of their own, installed on first run, so
// they are never dependencies of Backplane. Run `node bench/contract.ts --help` for the options.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { backplaneEnv, startNodeFlags } from './lib/backplane-env.ts'
import { checkContract, type ContractFinding, type Execution, type OpenApi } from './lib/contract-oracle.ts'
import { serverScript, startServer, type ServerChild } from './lib/servers.ts'
import { openBenchSession } from './lib/session.ts'

const USAGE = `Usage: node bench/contract.ts [options]   (npm run fuzz:contract -- [options])
  --keep <dir>   keep the generated collection, newman reports and findings in <dir>
  --help
Exit code 1 when any response is a 5xx or a status the OpenAPI document does not list.`

const { values: flags } = parseArgs({ options: { keep: { type: 'string' }, help: { type: 'boolean', default: false } } })
if (flags.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const toolDir = fileURLToPath(new URL('./contract/', import.meta.url))
const bin = (name: string) => join(toolDir, 'node_modules/.bin', name)

/** installTools installs Portman and newman into bench/contract/ the first time (from its lock file). */
function installTools (): void {
  if (existsSync(bin('portman')) && existsSync(bin('newman'))) return
  process.stdout.write('Installing Portman and newman into bench/contract/ (first run only) …\n')
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: toolDir, stdio: 'inherit' })
}

async function call (server: ServerChild, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {} }
}

/** account registers and signs in a fresh account; `admin` promotes it in the database first. */
async function account (server: ServerChild, databaseUrl: string, admin: boolean): Promise<string> {
  const email = `contract-${admin ? 'admin' : 'user'}-${randomBytes(4).toString('hex')}@example.test`
  const password = `${randomBytes(18).toString('base64url')}-Aa1!`
  const registered = await call(server, 'POST', '/api/v1/auth/register', { email, password, name: 'Contract Fuzz' })
  if (registered.status !== 202) throw new Error(`register answered ${registered.status}`)
  if (admin) {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try { await client.query("UPDATE users SET roles = ARRAY['user','admin'] WHERE email = $1", [email]) } finally { await client.end() }
  }
  const login = await call(server, 'POST', '/api/v1/auth/login', { email, password })
  if (login.status !== 200) throw new Error(`login answered ${login.status}`)
  return String(login.json.accessToken)
}

// A version 7 UUID that no row has.
const NO_SUCH_ID = '0190a8c0-0000-7000-8000-000000000001'
const SESSION_ENDING = /^\/api\/v1\/(auth\/logout|auth\/logout-all|users\/me\/password)$/

/** selectOperations copies the document with only the paths `keep` accepts. */
function selectOperations (doc: OpenApi, keep: (path: string) => boolean): OpenApi {
  return { ...doc, paths: Object.fromEntries(Object.entries(doc.paths).filter(([path]) => keep(path))) }
}

const ID = /(?:urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|urn:uuid:[0-9a-fA-F-]*/g

interface CollectionNode { item?: CollectionNode[], request?: { url?: { raw?: string, path?: string[], variable?: Array<{ value?: string }>, query?: Array<{ value?: string }> }, body?: { raw?: string } } }

/** rewriteIds replaces every id in the requests' URLs and bodies (not the collection's own item ids) with `id`. */
function rewriteIds (node: CollectionNode, id: string): CollectionNode {
  const url = node.request?.url
  if (url) {
    if (url.raw) url.raw = url.raw.replace(ID, id)
    if (url.path) url.path = url.path.map((p) => p.replace(ID, id))
    for (const v of [...(url.variable ?? []), ...(url.query ?? [])]) if (typeof v.value === 'string') v.value = v.value.replace(ID, id)
  }
  if (node.request?.body?.raw) node.request.body.raw = node.request.body.raw.replace(ID, id)
  for (const child of node.item ?? []) rewriteIds(child, id)
  return node
}

/** portmanConfig: contract tests on every operation, and one fuzzing variation per operation that documents a 400. */
function portmanConfig (): unknown {
  const fuzz = { enabled: true }
  const all = { requiredFields: fuzz, minimumNumberFields: fuzz, maximumNumberFields: fuzz, minLengthFields: fuzz, maxLengthFields: fuzz }
  return {
    version: 1.0,
    tests: {
      contractTests: [{ openApiOperation: '*::/*', statusSuccess: { enabled: true }, contentType: { enabled: true }, jsonBody: { enabled: true }, schemaValidation: { enabled: true } }],
      variationTests: [{
        openApiOperation: '*::/*',
        openApiResponse: '400',
        variations: [{ name: 'fuzz', fuzzing: [{ requestBody: [all], requestQueryParams: [all], requestHeaders: [all] }], tests: { contractTests: [{ statusCode: { enabled: true }, contentType: { enabled: true } }] } }]
      }]
    },
    globals: { securityOverwrites: { bearer: { token: '{{bearerToken}}' } } }
  }
}

interface NewmanReport { run: { executions: Array<{ item: { name: string }, request: { method: string, url: { path?: string[], query?: Array<{ key: string, value: string }> } }, response?: { code: number }, assertions?: Array<{ assertion: string, error?: { message: string } }> }> } }

/** runNewman runs the collection with one bearer token and returns what was sent and answered. */
async function runNewman (collection: string, dir: string, who: string, token: string): Promise<{ executions: Execution[], assertionsFailed: string[] }> {
  const out = join(dir, `newman-${who}.json`)
  try {
    execFileSync(bin('newman'), ['run', collection, '--env-var', `bearerToken=${token}`, '--reporters', 'json', '--reporter-json-export', out, '--timeout-request', '35000', '--suppress-exit-code'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    throw new Error(`newman failed as ${who}: ${(err as Error).message}`)
  }
  const report = JSON.parse(await readFile(out, 'utf8')) as NewmanReport
  const executions: Execution[] = []
  const assertionsFailed: string[] = []
  for (const e of report.run.executions) {
    executions.push({ name: e.item.name, method: e.request.method, path: `/${(e.request.url.path ?? []).join('/')}`, status: e.response?.code ?? 0 })
    for (const a of e.assertions ?? []) if (a.error) assertionsFailed.push(`${e.item.name}: ${a.assertion}`)
  }
  return { executions, assertionsFailed }
}

async function main (): Promise<number> {
  installTools()
  const session = await openBenchSession()
  const dir = flags.keep ?? await mkdtemp(join(tmpdir(), 'backplane-contract-'))
  try {
    const server = await startServer('backplane', serverScript('./backplane-server.ts'), {
      execArgv: startNodeFlags(),
      env: backplaneEnv(session.database, session.logDir, 'production', {
        DOCS_ENABLED: 'true',
        // The fuzz sends hundreds of requests from one address and one account; the budgets are not under test here.
        RATE_LIMIT_USER_PER_MINUTE: '1000000',
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        AUTH_ACCESS_TTL_SECONDS: '86400'
      })
    })
    session.servers.push(server)
    const databaseUrl = server.databaseUrl ?? session.database.settings.DATABASE_URL ?? ''
    const doc = (await call(server, 'GET', '/openapi.json')).json as unknown as OpenApi
    // Operations that end the caller's session run last, from a collection of their own: run in
    // document order, `POST /auth/logout` would leave every later request a 401.
    const collections: string[] = []
    for (const [part, keep] of [['main', false], ['session-ending', true]] as const) {
      const spec = join(dir, `openapi-${part}.json`)
      await writeFile(spec, JSON.stringify(selectOperations(doc, (path) => SESSION_ENDING.test(path) === keep)))
      const config = join(dir, 'portman-config.json')
      await writeFile(config, JSON.stringify(portmanConfig(), null, 2))
      const collection = join(dir, `collection-${part}.json`)
      execFileSync(bin('portman'), ['-l', spec, '-b', server.url, '-c', config, '-o', collection, '--syncPostman', 'false', '--includeTests', 'true'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
      collections.push(collection)
      // Portman writes `format: uuid` examples at random as plain UUIDs or as `urn:uuid:…` (cut to
      // maxLength 36). Two more passes make both shapes certain: every id a well-formed UUID that
      // names nothing (the requests reach the services: 404s, empty lists), and every id in its
      // `urn:uuid:` form (which Ajv's `uuid` format accepts and PostgreSQL does not).
      if (part === 'main') {
        const text = await readFile(collection, 'utf8')
        for (const [name, id] of [['plain-ids', NO_SUCH_ID], ['urn-ids', `urn:uuid:${NO_SUCH_ID}`]] as const) {
          const variant = join(dir, `collection-main-${name}.json`)
          await writeFile(variant, JSON.stringify(rewriteIds(JSON.parse(text) as CollectionNode, id)))
          collections.push(variant)
        }
      }
    }

    const findings: ContractFinding[] = []
    const counts: Record<string, { requests: number, byClass: Record<string, number>, portmanAssertionsFailed: number }> = {}
    for (const who of ['user', 'admin'] as const) {
      const token = await account(server, databaseUrl, who === 'admin')
      const executions: Execution[] = []
      const assertionsFailed: string[] = []
      for (const [i, collection] of collections.entries()) {
        const run = await runNewman(collection, dir, `${who}-${i}`, token)
        executions.push(...run.executions)
        assertionsFailed.push(...run.assertionsFailed)
      }
      const byClass: Record<string, number> = {}
      for (const e of executions) byClass[`${Math.floor(e.status / 100)}xx`] = (byClass[`${Math.floor(e.status / 100)}xx`] ?? 0) + 1
      counts[who] = { requests: executions.length, byClass, portmanAssertionsFailed: assertionsFailed.length }
      findings.push(...checkContract(doc, executions).map((f) => ({ ...f, who })))
      await writeFile(join(dir, `portman-assertions-${who}.txt`), assertionsFailed.join('\n') + '\n')
    }
    const fiveXx = findings.filter((f) => f.kind === '5xx')
    const undocumented = findings.filter((f) => f.kind === 'undocumented')
    await writeFile(join(dir, 'findings.json'), JSON.stringify(findings, null, 2))
    process.stdout.write(`${JSON.stringify({ operations: Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0), counts, fiveXx: fiveXx.length, undocumented: undocumented.length }, null, 2)}\n`)
    for (const f of findings.slice(0, 50)) process.stdout.write(`${f.kind} as ${f.who ?? '?'}: ${f.method} ${f.operation} → ${f.status} (${f.name})\n`)
    if (flags.keep) process.stdout.write(`Collection, newman reports and findings kept in ${dir}\n`)
    return findings.length === 0 ? 0 : 1
  } finally {
    await session.cleanup()
    if (!flags.keep) await rm(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
