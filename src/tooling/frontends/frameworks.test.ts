import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { detectFrontends, type DetectedFrontend } from './detect.ts'

const temps: string[] = []
afterAll(async () => { await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))) })

/** detectOne writes one app (path → content, objects as JSON) into a temporary folder and detects it. */
async function detectOne (files: Record<string, string | object>): Promise<{ frontends: DetectedFrontend[], problems: unknown[] }> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-frameworks-'))
  temps.push(root)
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), typeof content === 'string' ? content : JSON.stringify(content))
  }
  return detectFrontends(root)
}

const summary = (f: DetectedFrontend): string => [f.framework, f.frameworkVersion, f.bundler, f.packageManager, f.origins.join(' '), f.language].map(String).join(' | ')

describe('framework rules', () => {
  const cases: Array<[string, Record<string, string | object>, string]> = [
    ['Ionic Angular: the Angular server and ionic serve', {
      'package.json': { dependencies: { '@ionic/angular': '^8.7.0', '@angular/core': '^20.3.0' }, scripts: { start: 'ng serve' } },
      'ionic.config.json': { name: 'shop', type: 'angular-standalone' },
      'angular.json': { projects: { app: { projectType: 'application', architect: { build: { builder: '@angular-devkit/build-angular:application' } } } } }
    }, 'ionic | ^8.7.0 | esbuild | null | http://localhost:4200 http://localhost:8100 | typescript'],
    ['Ionic React on Vite', {
      'package.json': { dependencies: { '@ionic/react': '^8.7.0', react: '^19.0.0' }, devDependencies: { vite: '^7.0.0', '@vitejs/plugin-react': '^5.0.0' }, scripts: { dev: 'vite' } },
      'capacitor.config.ts': 'export default {}',
      'yarn.lock': ''
    }, 'ionic | ^8.7.0 | vite | yarn | http://localhost:5173 http://localhost:8100 | javascript'],
    ['Remix on Vite', {
      'package.json': { dependencies: { '@remix-run/react': '^2.17.0' }, devDependencies: { '@remix-run/dev': '^2.17.0', vite: '^6.0.0' }, scripts: { dev: 'remix vite:dev' } },
      'vite.config.ts': "import { vitePlugin as remix } from '@remix-run/dev'\nexport default { plugins: [remix()] }"
    }, 'remix | ^2.17.0 | vite | null | http://localhost:5173 | javascript'],
    ['classic Remix compiler', {
      'package.json': { dependencies: { '@remix-run/react': '^1.19.0' }, devDependencies: { '@remix-run/dev': '^1.19.0' }, scripts: { dev: 'remix dev' } },
      'remix.config.js': 'module.exports = {}'
    }, 'remix | ^1.19.0 | esbuild | null | http://localhost:3000 | javascript'],
    ['React Router framework mode', {
      'package.json': { dependencies: { 'react-router': '^7.9.0', react: '^19.1.0' }, devDependencies: { '@react-router/dev': '^7.9.0', vite: '^7.0.0', typescript: '^5.9.0' }, scripts: { dev: 'react-router dev' } },
      'react-router.config.ts': 'export default { ssr: true }',
      'vite.config.ts': "import { reactRouter } from '@react-router/dev/vite'\nexport default { plugins: [reactRouter()] }"
    }, 'react-router | ^7.9.0 | vite | null | http://localhost:5173 | typescript'],
    ['SolidStart 1 on Vinxi', {
      'package.json': { dependencies: { '@solidjs/start': '^1.1.0', 'solid-js': '^1.9.5', vinxi: '^0.5.7' }, scripts: { dev: 'vinxi dev' } },
      'app.config.ts': "import { defineConfig } from '@solidjs/start/config'\nexport default defineConfig({})"
    }, 'solid | ^1.1.0 | vite | null | http://localhost:3000 | javascript'],
    ['Solid on Vite', {
      'package.json': { dependencies: { 'solid-js': '^1.9.9' }, devDependencies: { vite: '^7.1.0', 'vite-plugin-solid': '^2.11.8' }, scripts: { dev: 'vite' } },
      'vite.config.ts': "import solid from 'vite-plugin-solid'\nexport default { plugins: [solid()], server: { port: 3000 } }",
      'index.html': ''
    }, 'solid | ^1.9.9 | vite | null | http://localhost:3000 | javascript'],
    ['bare React Native: Metro serves no web page', {
      'package.json': { dependencies: { react: '19.1.0', 'react-native': '0.81.0' }, scripts: { start: 'react-native start' } },
      'app.json': { name: 'Native', displayName: 'Native' },
      'metro.config.js': 'module.exports = {}'
    }, 'react-native | 0.81.0 | metro | null |  | javascript'],
    ['Expo without react-native-web has no web origin', {
      'package.json': { dependencies: { expo: '~54.0.0', react: '19.1.0', 'react-native': '0.81.4' }, scripts: { start: 'expo start' } },
      'app.json': { expo: { name: 'mobile' } }
    }, 'expo | ~54.0.0 | metro | null |  | javascript'],
    ['Vue CLI on webpack', {
      'package.json': { dependencies: { vue: '^3.2.13' }, devDependencies: { '@vue/cli-service': '~5.0.0' }, scripts: { serve: 'vue-cli-service serve' } },
      'vue.config.js': 'module.exports = {}'
    }, 'vue | ^3.2.13 | webpack | null | http://localhost:8080 | javascript'],
    ['Next 15 with --turbopack, port from -p', {
      'package.json': { dependencies: { next: '15.5.0', react: '19.1.0' }, scripts: { dev: 'next dev --turbopack -p 4000' } }
    }, 'next | 15.5.0 | turbopack | null | http://localhost:4000 | javascript'],
    ['Next 14 on webpack', {
      'package.json': { dependencies: { next: '14.2.0' }, scripts: { dev: 'next dev' } },
      'next.config.mjs': 'export default {}'
    }, 'next | 14.2.0 | webpack | null | http://localhost:3000 | javascript'],
    ['Angular on the webpack builder', {
      'package.json': { dependencies: { '@angular/core': '^15.2.0' }, scripts: { start: 'ng serve' }, packageManager: 'yarn@4.9.0' },
      'angular.json': { projects: { legacy: { projectType: 'application', architect: { build: { builder: '@angular-devkit/build-angular:browser' } } } } }
    }, 'angular | ^15.2.0 | webpack | yarn | http://localhost:4200 | typescript'],
    ['Nuxt 2 on webpack', {
      'package.json': { dependencies: { nuxt: '^2.17.0' }, scripts: { dev: 'nuxt' } },
      'nuxt.config.js': 'export default {}'
    }, 'nuxt | ^2.17.0 | webpack | null | http://localhost:3000 | javascript']
  ]

  it.each(cases)('%s', async (_, files, expected) => {
    const { frontends, problems } = await detectOne(files)
    expect(frontends.map(summary)).toEqual([expected])
    expect(problems).toEqual([])
  })
})

describe('what is not a frontend app', () => {
  it.each<[string, Record<string, string | object>]>([
    ['a backend', { 'package.json': { dependencies: { fastify: '^5.0.0' }, scripts: { dev: 'node --watch src/main.ts' } } }],
    ['a React library (React as a peer dependency)', { 'package.json': { peerDependencies: { react: '>=18' }, devDependencies: { react: '^19.0.0', vite: '^7.0.0' }, scripts: { dev: 'vite' } }, 'index.html': '' }],
    ['a Vite library build', { 'package.json': { dependencies: { vue: '^3.5.0' }, devDependencies: { vite: '^7.0.0' } }, 'vite.config.js': "export default { build: { lib: { entry: 'src/index.js' } } }" }],
    ['a monorepo root whose scripts only run the packages', { 'package.json': { private: true, workspaces: ['apps/*'], devDependencies: { react: '^19.0.0', next: '^16.0.0', turbo: '^2.5.0' }, scripts: { dev: 'turbo dev' } }, 'turbo.json': '{}' }],
    ['a package that only depends on React', { 'package.json': { dependencies: { react: '^19.0.0' } } }],
    ['a Dart package', { 'pubspec.yaml': 'name: util\nenvironment:\n  sdk: ^3.9.0\n' }],
    ['a Flutter plugin', { 'pubspec.yaml': 'name: plug\ndependencies:\n  flutter:\n    sdk: flutter\nflutter:\n  plugin:\n    platforms: {}\n', android: '' }],
    ['an Nx library', { 'project.json': { name: 'ui', projectType: 'library' }, 'vite.config.ts': "import react from '@vitejs/plugin-react'" }]
  ])('%s', async (_, files) => {
    expect((await detectOne(files)).frontends).toEqual([])
  })
})

describe('versions and package managers', () => {
  it('prefers the installed version to the declared range', async () => {
    const { frontends } = await detectOne({
      'package.json': { dependencies: { vue: '^3.5.0' }, devDependencies: { vite: '^7.0.0' }, scripts: { dev: 'vite' } },
      'index.html': '',
      'node_modules/vue/package.json': { name: 'vue', version: '3.5.22' }
    })
    expect(frontends[0]?.frameworkVersion).toBe('3.5.22')
  })

  it('reads npm aliases and gives no version for local links', async () => {
    const alias = await detectOne({ 'package.json': { dependencies: { react: 'npm:react@^18.3.1', vite: '^7.0.0' }, scripts: { dev: 'vite' } } })
    expect(alias.frontends[0]?.frameworkVersion).toBe('^18.3.1')
    const linked = await detectOne({ 'package.json': { dependencies: { react: 'workspace:*', vite: '^7.0.0' }, scripts: { dev: 'vite' } } })
    expect(linked.frontends[0]?.frameworkVersion).toBeNull()
  })

  it.each([
    ['pnpm-lock.yaml', 'pnpm'], ['yarn.lock', 'yarn'], ['bun.lockb', 'bun'], ['bun.lock', 'bun'], ['package-lock.json', 'npm']
  ])('%s means %s', async (lockfile, manager) => {
    const { frontends } = await detectOne({ 'package.json': { dependencies: { react: '^19.0.0', vite: '^7.0.0' }, scripts: { dev: 'vite' } }, [lockfile]: '' })
    expect(frontends[0]?.packageManager).toBe(manager)
  })

  it('the packageManager field wins over a lockfile in the same folder', async () => {
    const { frontends } = await detectOne({ 'package.json': { packageManager: 'pnpm@10.18.3', dependencies: { react: '^19.0.0', vite: '^7.0.0' }, scripts: { dev: 'vite' } }, 'package-lock.json': '' })
    expect(frontends[0]?.packageManager).toBe('pnpm')
  })

  it('yarn workspaces and Turborepo name the monorepo', async () => {
    const yarn = await detectOne({
      'package.json': { private: true, workspaces: { packages: ['apps/*'] } },
      'yarn.lock': '',
      'apps/site/package.json': { dependencies: { astro: '^5.0.0' }, scripts: { dev: 'astro dev' } }
    })
    expect(yarn.frontends.map((f) => [f.path, f.monorepo, f.packageManager])).toEqual([['apps/site', 'yarn', 'yarn']])
    const turbo = await detectOne({
      'package.json': { private: true, workspaces: ['apps/*'], packageManager: 'npm@11.6.2' },
      'turbo.json': '{}',
      'apps/web/package.json': { dependencies: { next: '^16.0.0' }, scripts: { dev: 'next dev --port 3010' } }
    })
    expect(turbo.frontends.map((f) => [f.path, f.monorepo, f.packageManager, f.origins[0]])).toEqual([['apps/web', 'turborepo', 'npm', 'http://localhost:3010']])
  })
})
