import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyWorkspaceFixtures } from '../../../test/helpers/workspace-fixtures.ts'
import { DetectionDirError, detectFrontends, type DetectedFrontend } from './detect.ts'

// The fixtures are scanned from a copy outside the repository (see copyWorkspaceFixtures).
let fixtures = ''
let removeFixtures = async (): Promise<void> => {}
beforeAll(async () => { ({ dir: fixtures, remove: removeFixtures } = await copyWorkspaceFixtures()) })
const fixture = (name: string): string => join(fixtures, name)

const temps: string[] = []
afterAll(async () => {
  await removeFixtures()
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })))
})

/** tree writes files (path → content) into a new temporary folder and returns it. */
async function tree (files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-frontends-'))
  temps.push(root)
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), content)
  }
  return root
}

const viteReactPackage = JSON.stringify({ name: 'deep', scripts: { dev: 'vite' }, dependencies: { react: '^19.3.1' }, devDependencies: { vite: '^8.3.4', '@vitejs/plugin-react': '^6.1.2' } })
const viteReactApp = (prefix: string): Record<string, string> => ({
  [`${prefix}package.json`]: viteReactPackage,
  [`${prefix}index.html`]: '<div id="root"></div>',
  [`${prefix}package-lock.json`]: '{}'
})

const app = (fields: Partial<DetectedFrontend> & Pick<DetectedFrontend, 'name' | 'framework'>): DetectedFrontend => ({
  path: '.',
  frameworkVersion: null,
  bundler: 'vite',
  packageManager: 'npm',
  origins: ['http://localhost:5173'],
  originSources: ['default'],
  language: 'typescript',
  monorepo: null,
  ...fields
})

describe('detectFrontends on what each official generator writes', () => {
  const single: Array<[string, DetectedFrontend]> = [
    ['vite-react', app({ name: 'vite-react-app', framework: 'react-vite', frameworkVersion: '^19.3.1' })],
    ['vue', app({ name: 'vue-app', framework: 'vue', frameworkVersion: '^3.5.42', language: 'javascript' })],
    ['angular', app({ name: 'angular-app', framework: 'angular', frameworkVersion: '^22.2.0', bundler: 'esbuild', origins: ['http://localhost:4200'] })],
    ['next', app({ name: 'next-app', framework: 'next', frameworkVersion: '16.4.3', bundler: 'turbopack', origins: ['http://localhost:3000'] })],
    ['nuxt', app({ name: 'nuxt-app', framework: 'nuxt', frameworkVersion: '^4.5.2', packageManager: 'pnpm', origins: ['http://localhost:3000'] })],
    ['sveltekit', app({ name: 'sveltekit-app', framework: 'sveltekit', frameworkVersion: '^2.63.0', packageManager: 'bun' })],
    ['expo', app({ name: 'expo-app', framework: 'expo', frameworkVersion: '~58.0.0-preview.5', bundler: 'metro', origins: ['http://localhost:8081'] })],
    ['flutter', app({ name: 'flutter_app', framework: 'flutter', bundler: null, packageManager: 'pub', origins: [], originSources: [], language: 'dart' })],
    ['astro', app({ name: 'astro-app', framework: 'astro', frameworkVersion: '^7.3.5', packageManager: 'yarn', origins: ['http://localhost:4321'] })],
    ['cra', app({ name: 'cra-app', framework: 'react-cra', frameworkVersion: '^19.3.1', bundler: 'webpack', origins: ['http://localhost:3005'], originSources: ['.env.development PORT'], language: 'javascript' })]
  ]

  it.each(single)('%s', async (name, expected) => {
    const result = await detectFrontends(fixture(name))
    expect(result.root).toBe(resolve(fixture(name)))
    expect(result.frontends).toEqual([expected])
    expect(result.problems).toEqual([])
  })

  it('pnpm monorepo: both apps with their own ports, the component library left out', async () => {
    const result = await detectFrontends(fixture('pnpm-monorepo'))
    expect(result.frontends).toEqual([
      app({
        name: '@acme/admin',
        path: 'apps/admin',
        framework: 'angular',
        frameworkVersion: '^22.2.0',
        bundler: 'esbuild',
        packageManager: 'pnpm',
        origins: ['http://localhost:4300'],
        originSources: ['angular.json projects.admin.architect.serve.options.port'],
        monorepo: 'pnpm'
      }),
      app({
        name: '@acme/web',
        path: 'apps/web',
        framework: 'react-vite',
        // `catalog:` resolved from pnpm-workspace.yaml.
        frameworkVersion: '^19.3.1',
        packageManager: 'pnpm',
        // server.port, not the proxy target's port.
        origins: ['http://localhost:3001'],
        originSources: ['vite.config.ts server.port'],
        monorepo: 'pnpm'
      })
    ])
    expect(result.problems).toEqual([])
  })

  it('Nx monorepo: projects without package.json use the root dependencies; e2e and library projects are left out', async () => {
    const result = await detectFrontends(fixture('nx-monorepo'))
    expect(result.frontends).toEqual([
      app({ name: 'store', path: 'apps/store', framework: 'next', frameworkVersion: '~16.4.3', bundler: 'turbopack', origins: ['http://localhost:3000'], monorepo: 'nx' }),
      app({ name: 'web', path: 'apps/web', framework: 'react-vite', frameworkVersion: '19.3.0', origins: ['http://localhost:4200'], originSources: ['vite.config.ts server.port'], monorepo: 'nx' })
    ])
    expect(result.problems).toEqual([])
  })

  it('Nx 23 workspace (create-nx-workspace --preset=react-monorepo): a project package.json without dependencies uses the root\'s', async () => {
    const result = await detectFrontends(fixture('nx-workspace'))
    expect(result.frontends).toEqual([
      app({ name: '@nxws/web', path: 'apps/web', framework: 'react-vite', frameworkVersion: '^19.0.0', origins: ['http://localhost:4200'], originSources: ['vite.config.mts server.port'], monorepo: 'nx' })
    ])
    expect(result.problems).toEqual([])
  })

  it('broken manifests are reported for their folder and the scan goes on', async () => {
    const result = await detectFrontends(fixture('broken'))
    expect(result.frontends).toEqual([
      // angular.json is unreadable, package.json still says Angular: its builder and port are unknown.
      app({ name: 'bad-angular', path: 'bad-angular', framework: 'angular', frameworkVersion: '^22.2.0', bundler: null, origins: ['http://localhost:4200'] }),
      app({ name: 'good', path: 'good', framework: 'react-vite', frameworkVersion: '^19.3.1', language: 'javascript' })
    ])
    expect(result.problems).toEqual([
      { path: 'bad-angular', file: 'angular.json', message: expect.stringMatching(/^invalid JSON: .+/) },
      { path: 'bad-flutter', file: 'pubspec.yaml', message: expect.stringMatching(/^invalid YAML: .+line 6/) },
      { path: 'bad-package', file: 'package.json', message: expect.stringMatching(/^invalid JSON: .+/) },
      { path: 'list-package', file: 'package.json', message: 'must be a JSON object' }
    ])
  })

  it('a JSON error quoting lines of the file is reported on one line', async () => {
    const root = await tree({ 'web/package.json': '{"name": broken\n  "x": 1\n' })
    const { problems } = await detectFrontends(root)
    expect(problems).toEqual([{ path: 'web', file: 'package.json', message: expect.stringMatching(/^invalid JSON: [^\n]+$/) }])
  })

  it('the whole fixtures folder in one scan, paths relative to it and sorted', async () => {
    const result = await detectFrontends(fixtures)
    expect(result.frontends.map((f) => f.path)).toEqual([
      'angular', 'astro', 'broken/bad-angular', 'broken/good', 'cra', 'expo', 'flutter', 'next', 'nuxt',
      'nx-monorepo/apps/store', 'nx-monorepo/apps/web', 'nx-workspace/apps/web', 'pnpm-monorepo/apps/admin', 'pnpm-monorepo/apps/web',
      'sveltekit', 'symlink-loop/app', 'vite-react', 'vue'
    ])
    expect(result.problems.map((p) => `${p.path}/${p.file}`)).toEqual([
      'broken/bad-angular/angular.json', 'broken/bad-flutter/pubspec.yaml', 'broken/bad-package/package.json', 'broken/list-package/package.json'
    ])
  })
})

describe('walking', () => {
  it('a symlink loop ends, and the app is found once', async () => {
    // Links are made here rather than committed: git checkouts on some systems turn them into plain files.
    const root = await mkdtemp(join(tmpdir(), 'backplane-frontends-loop-'))
    temps.push(root)
    await cp(fixture('symlink-loop'), root, { recursive: true })
    await symlink('..', join(root, 'app', 'parent'))
    await symlink('.', join(root, 'self'))
    await symlink(join(root, 'app'), join(root, 'app-again'))
    const result = await detectFrontends(root, { maxDepth: 50 })
    expect(result.frontends).toEqual([
      app({ name: 'loop-app', path: 'app', framework: 'svelte', frameworkVersion: '^5.56.1', language: 'javascript' })
    ])
    // The root and app/, each entered once whatever the links.
    expect(result.scannedDirs).toBe(2)
  })

  it('a dangling link is ignored', async () => {
    const root = await tree(viteReactApp(''))
    await symlink(join(root, 'nowhere'), join(root, 'dangling'))
    const result = await detectFrontends(root)
    expect(result.frontends.map((f) => f.name)).toEqual(['deep'])
    expect(result.problems).toEqual([])
  })

  it('looks no deeper than the depth bound (default 6)', async () => {
    const root = await tree({ ...viteReactApp('a/b/c/d/'), ...viteReactApp('1/2/3/4/5/6/'), ...viteReactApp('1/2/3/4/5/6/7/') })
    expect((await detectFrontends(root, { maxDepth: 3 })).frontends).toEqual([])
    expect((await detectFrontends(root, { maxDepth: 4 })).frontends.map((f) => f.path)).toEqual(['a/b/c/d'])
    expect((await detectFrontends(root)).frontends.map((f) => f.path)).toEqual(['1/2/3/4/5/6', 'a/b/c/d'])
    expect((await detectFrontends(root, { maxDepth: 0 })).scannedDirs).toBe(1)
  })

  it('finds a workspace package deeper than the depth bound through the workspace globs', async () => {
    const root = await tree({
      'package.json': JSON.stringify({ name: 'root', private: true, workspaces: ['apps/*/*', 'tools/**'] }),
      'package-lock.json': '{}',
      ...viteReactApp('apps/team/web/')
    })
    const result = await detectFrontends(root, { maxDepth: 1 })
    expect(result.frontends).toEqual([app({ name: 'deep', path: 'apps/team/web', framework: 'react-vite', frameworkVersion: '^19.3.1', language: 'javascript', monorepo: 'npm-workspaces' })])
  })

  it('never looks inside node_modules, build output or version-control folders', async () => {
    const root = await tree({
      ...viteReactApp(''),
      ...viteReactApp('node_modules/some-app/'),
      ...viteReactApp('packages/x/node_modules/nested-app/'),
      ...viteReactApp('dist/copied-app/'),
      ...viteReactApp('.next/server-app/'),
      ...viteReactApp('.git/modules/app/'),
      ...viteReactApp('coverage/app/')
    })
    const result = await detectFrontends(root)
    expect(result.frontends.map((f) => f.path)).toEqual(['.'])
    expect(result.scannedDirs).toBe(3)
  })

  it('refuses to read a file over 1 MiB and says so', async () => {
    const big = JSON.stringify({ name: 'big', description: 'x'.repeat(1024 * 1024), dependencies: { react: '^19' }, devDependencies: { vite: '^8' } })
    const root = await tree({
      'big/package.json': big,
      'big/index.html': '',
      ...viteReactApp('ok/'),
      'ok/vite.config.js': `export default { server: { port: 3001 } }\n//${'x'.repeat(1024 * 1024)}`
    })
    const result = await detectFrontends(root)
    // The app with the huge config is still found, on its default port.
    expect(result.frontends.map((f) => [f.path, f.origins])).toEqual([['ok', ['http://localhost:5173']]])
    expect(result.problems).toEqual([
      { path: 'big', file: 'package.json', message: expect.stringMatching(/^is larger than 1 MiB \(\d+ bytes\) and was not read$/) },
      { path: 'ok', file: 'vite.config.js', message: expect.stringMatching(/^is larger than 1 MiB/) }
    ])
  })

  it('reports progress for every folder it enters', async () => {
    const root = await tree({ ...viteReactApp('a/'), ...viteReactApp('b/') })
    const seen: Array<[number, string]> = []
    const result = await detectFrontends(root, { onProgress: (count, current) => seen.push([count, current]) })
    expect(seen).toEqual([[1, '.'], [2, 'a'], [3, 'b']])
    expect(result.scannedDirs).toBe(3)
  })

  it('fails clearly for a folder that does not exist or is a file', async () => {
    await expect(detectFrontends(join(tmpdir(), 'backplane-no-such-dir'))).rejects.toThrow(DetectionDirError)
    await expect(detectFrontends(join(fixture('vue'), 'package.json'))).rejects.toThrow(/^not a directory/)
    await expect(detectFrontends(fixtures, { maxDepth: -1 })).rejects.toThrow(RangeError)
  })
})
