import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { makeUser, type TestUser } from '../helpers/auth.ts'

const projectRoot = fileURLToPath(new URL('../..', import.meta.url))
const realtimeClient = join(projectRoot, 'sdk', 'realtime.ts')

interface Run { code: number | null, stdout: string, stderr: string }

/** run starts a Node 24 process (the one running the tests) and collects what it printed, within a bound. */
function run (args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024
    }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

/**
 * The program a team would write: sign in, then read the signed-in user through the typed response.
 * `me.data.email` compiles only because the types say the reply has an email; the credentials
 * check runs against a recording fetch, since what a server does with extra headers is not the point.
 */
const program = `import { createBackplaneClient, createRealtimeClient, fileBody, FRONTEND_KEY_HEADER, type paths } from './sdk/client.ts'

const [baseUrl, email, password] = process.argv.slice(2) as [string, string, string]
let token: string | undefined
const api = createBackplaneClient({ baseUrl, getToken: () => token })

const login = await api.POST('/api/v1/auth/login', { body: { email, password } })
if (login.error !== undefined) throw new Error(\`login failed: \${login.error.code}\`)
// The 202 of a password that needs a second factor is part of the typed reply too.
if ('challengeToken' in login.data) throw new Error(\`second factor needed: \${login.data.status}\`)
token = login.data.accessToken
const me = await api.GET('/api/v1/users/me')
if (me.data === undefined) throw new Error(\`GET /users/me failed: \${me.response.status}\`)
const address: string = me.data.email
const roles: string[] = me.data.roles
const listed = await api.GET('/api/v1/projects', { params: { query: { limit: 1 } } })
// A file goes up as its bytes (typed Blob) and comes back as text.
const project = await api.POST('/api/v1/projects', { body: { name: 'SDK files' } })
if (project.data === undefined) throw new Error(\`create project failed: \${project.response.status}\`)
const upload = await api.POST('/api/v1/projects/{id}/files', { params: { path: { id: project.data.id }, query: { name: 'notes.txt' } }, ...fileBody(new Blob(['hello from the typed client\\n'], { type: 'text/plain' })) })
if (upload.data === undefined) throw new Error(\`upload failed: \${upload.response.status} \${JSON.stringify(upload.error)}\`)
const download = await api.GET('/api/v1/files/{id}/content', { params: { path: { id: upload.data.id } }, parseAs: 'text' })
const file = { name: upload.data.name, size: upload.data.size, sha256: upload.data.sha256, text: download.data }
type Login = paths['/api/v1/auth/login']['post']['requestBody']['content']['application/json']
const body: Login = { email, password }

const sent: Array<Record<string, string | null>> = []
const recorder = async (request: Request): Promise<Response> => {
  sent.push({ authorization: request.headers.get('authorization'), apiKey: request.headers.get('x-api-key'), frontend: request.headers.get(FRONTEND_KEY_HEADER), url: request.url })
  return new Response('{}', { headers: { 'content-type': 'application/json' } })
}
await createBackplaneClient({ baseUrl: 'http://backplane.test/', apiKey: 'bp_key', frontendKey: 'fk_1', fetch: recorder }).GET('/api/v1/instance')
await createBackplaneClient({ baseUrl: 'http://backplane.test', apiKey: 'bp_key', getToken: async () => 'jwt', fetch: recorder }).GET('/api/v1/instance')

console.log(JSON.stringify({ email: address, roles, projects: listed.data?.items.length, body: Object.keys(body), sent, realtime: typeof createRealtimeClient, file }))
`

/** pathsOf lists the API paths a generated schema types, in order. */
function pathsOf (schema: string): Record<string, true> {
  return Object.fromEntries([...schema.matchAll(/^ {4}"(\/[^"]*)": \{$/gm)].map((m) => [m[1] ?? '', true]))
}

let t: TestApp
let user: TestUser
let url: string
let dir: string
beforeAll(async () => {
  t = await createTestApp()
  user = await makeUser(t.app)
  url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  dir = await mkdtemp(join(tmpdir(), 'backplane-sdk-client-'))
  await symlink(join(projectRoot, 'node_modules'), join(dir, 'node_modules'))
})
afterAll(async () => {
  await t.close()
  await rm(dir, { recursive: true, force: true })
})

describe('a client generated by `backplane sdk` from a live server', { timeout: 120_000 }, () => {
  it('is generated, compiles with tsc, and signs in and reads the user against the server', async () => {
    const generated = await run([join(projectRoot, 'src/main.ts'), 'sdk', '--url', url, '--out', join(dir, 'sdk')], dir)
    expect(generated.stderr).toBe('')
    expect(generated.code).toBe(0)
    // Outside the Backplane checkout, the realtime client's files are copied beside client.ts.
    expect(generated.stdout).toContain('wrote     sdk/realtime.ts\nwrote     sdk/realtime-types.ts\nwrote     sdk/schema.d.ts\nwrote     sdk/client.ts\n')
    expect(generated.stdout).toMatch(/\d+ operations typed/)
    const client = await readFile(join(dir, 'sdk', 'client.ts'), 'utf8')
    // The realtime client ships in sdk/realtime.ts; the generated client re-exports its copy, never a path into the checkout.
    expect(existsSync(realtimeClient)).toBe(true)
    expect(client).toMatch(/^export \* from '\.\/realtime\.ts'$/m)
    expect(await readFile(join(dir, 'sdk', 'realtime.ts'), 'utf8')).toContain(await readFile(realtimeClient, 'utf8'))

    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
    await writeFile(join(dir, 'main.ts'), program)
    // The repository's own strict settings: the generated client must compile under them.
    const compilerOptions = {
      target: 'ES2024',
      lib: ['ES2024', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      erasableSyntaxOnly: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node']
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }))
    const compiled = await run([join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', dir], dir)
    expect(compiled.stdout + compiled.stderr).toBe('')
    expect(compiled.code).toBe(0)

    const ran = await run([join(dir, 'main.ts'), url, user.email, user.password], dir)
    expect(ran.stderr).toBe('')
    expect(ran.code).toBe(0)
    const printed = JSON.parse(ran.stdout) as { email: string, roles: string[], projects: number, body: string[], sent: unknown[], realtime: string, file: Record<string, unknown> }
    expect(printed.email).toBe(user.email)
    expect(printed.roles).toEqual(['user'])
    expect(printed.projects).toBe(0)
    expect(printed.realtime).toBe('function')
    // #18: the typed client covers files: the upload's body is typed as a Blob and sent as bytes, not JSON.
    const bytes = 'hello from the typed client\n'
    expect(printed.file).toEqual({ name: 'notes.txt', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), text: bytes })
    expect(await readFile(join(dir, 'sdk', 'schema.d.ts'), 'utf8')).toMatch(/"application\/octet-stream": Blob;/)
    expect(printed.sent).toEqual([
      { authorization: null, apiKey: 'bp_key', frontend: 'fk_1', url: 'http://backplane.test/api/v1/instance' },
      // One identity per request: with a token, the API key stays home (Backplane refuses both at once).
      { authorization: 'Bearer jwt', apiKey: null, frontend: null, url: 'http://backplane.test/api/v1/instance' }
    ])
  })

  it('builds the same types without a server or a database when no --url is given', async () => {
    const fromServer = await readFile(join(dir, 'sdk', 'schema.d.ts'), 'utf8')
    // No DATABASE_URL and an unusable data dir: describing the API must touch neither.
    const offline = await run([join(projectRoot, 'src/main.ts'), 'sdk', '--out', join(dir, 'offline')], dir)
    expect(offline.stderr).toBe('')
    expect(offline.code).toBe(0)
    expect(offline.stdout).toContain('wrote     offline/schema.d.ts\nwrote     offline/client.ts\n')
    const built = await readFile(join(dir, 'offline', 'schema.d.ts'), 'utf8')
    expect(Object.keys(pathsOf(built))).toEqual(Object.keys(pathsOf(fromServer)))
  })

  it('says what is wrong when the server cannot be reached or serves no document', async () => {
    const unreachable = await run([join(projectRoot, 'src/main.ts'), 'sdk', '--url', 'http://127.0.0.1:1', '--out', join(dir, 'never')], dir)
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^backplane: could not reach http:\/\/127\.0\.0\.1:1\/openapi\.json/)
    const notDocs = await run([join(projectRoot, 'src/main.ts'), 'sdk', '--url', `${url}/api/v1/instance`, '--out', join(dir, 'never')], dir)
    expect(notDocs.code).toBe(1)
    expect(notDocs.stderr).toMatch(/\/api\/v1\/instance\/openapi\.json answered 404: is DOCS_ENABLED off on that server\?/)
    expect(existsSync(join(dir, 'never'))).toBe(false)
  })
})
