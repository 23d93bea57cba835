import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { detectFrontends } from '../frontends/detect.ts'
import { writeFrontendClients } from './write-clients.ts'
import { writtenFrontendKey } from './written-key.ts'

const fixtures = fileURLToPath(new URL('../../../test/fixtures/workspaces/', import.meta.url))
const document = { openapi: '3.1.0', info: { title: 'test', version: '1' }, paths: {} }
const temps: string[] = []
afterAll(async () => { await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))) })

describe('writtenFrontendKey reads back the key --write-clients wrote into an app', () => {
  // One framework per kind of settings file: a dotenv block, Nuxt's .env, an Angular settings module, Flutter's JSON.
  const cases: Array<[string, string]> = [['vite-react', '.env.local'], ['nuxt', '.env'], ['angular', 'src/environments/backplane.ts'], ['flutter', 'assets/backplane.json']]

  it.each(cases)('%s (%s)', async (name, file) => {
    const root = await mkdtemp(join(tmpdir(), 'backplane-written-key-'))
    temps.push(root)
    await cp(join(fixtures, name), join(root, name), { recursive: true })
    const [frontend] = (await detectFrontends(root)).frontends
    if (frontend === undefined) throw new Error(`no frontend in ${name}`)
    const appDir = join(root, name)
    expect(await writtenFrontendKey(frontend, appDir)).toBeNull()

    const key = 'bp_abcdefgh_0123456789abcdefghijABCDEFGHIJ-_xyz0123'
    await writeFrontendClients([frontend], { root, baseUrl: 'http://localhost:3000', keys: { [frontend.name]: key }, document })
    expect(await writtenFrontendKey(frontend, appDir)).toBe(key)

    // Whatever is there now that is not a Backplane key is no key: the caller makes a new one.
    const text = await readFile(join(appDir, file), 'utf8')
    await writeFile(join(appDir, file), text.replace(key, "x' + steal() + '"))
    expect(await writtenFrontendKey(frontend, appDir)).toBeNull()
  })
})
