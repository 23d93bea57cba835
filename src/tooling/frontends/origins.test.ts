import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { objectProperty, stripComments } from './config-text.ts'
import { detectFrontends } from './detect.ts'
import { devCommands, scriptCommands } from './scripts.ts'

const temps: string[] = []
afterAll(async () => { await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))) })

/** originsOf writes one app into a temporary folder and returns its detected origins, each with its source. */
async function originsOf (files: Record<string, string | object>): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-origins-'))
  temps.push(root)
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), typeof content === 'string' ? content : JSON.stringify(content))
  }
  const { frontends, problems } = await detectFrontends(root)
  expect(problems).toEqual([])
  expect(frontends).toHaveLength(1)
  return frontends[0]?.origins.map((o, i) => `${o} <- ${frontends[0]?.originSources[i] ?? ''}`) ?? []
}

const vitePackage = { dependencies: { react: '^19.0.0' }, devDependencies: { vite: '^7.0.0', '@vitejs/plugin-react': '^5.0.0' }, scripts: { dev: 'vite' } }

describe('dev origins from a Vite config, read as text and never run', () => {
  it.each<[string, string, Record<string, string>, string[]]>([
    ['a literal port and host', "export default defineConfig({ server: { host: '127.0.0.1', port: 3100 } })", {},
      ['http://127.0.0.1:3100 <- vite.config.ts server.port']],
    ['a wildcard host is reached as localhost', 'export default { server: { host: true, port: 3100 } }', {},
      ['http://localhost:3100 <- vite.config.ts server.port']],
    ['https turns the scheme', "import basicSsl from '@vitejs/plugin-basic-ssl'\nexport default { server: { https: {}, port: 3100 } }", {},
      ['https://localhost:3100 <- vite.config.ts server.port']],
    ['a port from the dotenv files through loadEnv', [
      'export default defineConfig(({ mode }) => {',
      "  const env = loadEnv(mode, process.cwd(), '')",
      '  return { server: { port: Number(env.VITE_PORT) } }',
      '})'
    ].join('\n'), { '.env': 'VITE_PORT=3000\n', '.env.local': 'VITE_PORT=3200\n' },
    ['http://localhost:3200 <- vite.config.ts server.port (.env.local VITE_PORT)']],
    ['the fallback written after an unset variable', 'export default { server: { port: Number(process.env.PORT) || 3300 } }', {},
      ['http://localhost:3300 <- vite.config.ts server.port']],
    ['commented-out settings and URLs in strings', [
      '// server: { port: 9999 },',
      '/* server: { port: 9998 } */',
      "const docs = 'https://vite.dev/config/' // the docs",
      'export default { server: { port: 3400 } }'
    ].join('\n'), {}, ['http://localhost:3400 <- vite.config.ts server.port']],
    ["Vitest's test.server and preview.port are not the dev server's", [
      'export default {',
      '  test: { server: { deps: { inline: [], port: 9000 } } },',
      '  preview: { port: 4173 },',
      '  server: { port: 3500, proxy: { "/api": { target: "http://localhost:8080", port: 8080 } } },',
      '}'
    ].join('\n'), {}, ['http://localhost:3500 <- vite.config.ts server.port']],
    ['a port it cannot work out falls back to the default', 'const port = pick()\nexport default { server: { port } }', {},
      ['http://localhost:5173 <- default']]
  ])('%s', async (_, config, extra, expected) => {
    expect(await originsOf({ 'package.json': vitePackage, 'vite.config.ts': config, 'index.html': '', ...extra })).toEqual(expected)
  })

  it('does not execute the config file', async () => {
    const marker = join(tmpdir(), `backplane-executed-${process.pid}`)
    const config = `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, 'ran')\nexport default { server: { port: 3600 } }`
    expect(await originsOf({ 'package.json': vitePackage, 'vite.config.mjs': config })).toEqual(['http://localhost:3600 <- vite.config.mjs server.port'])
    await expect(import('node:fs').then((fs) => fs.existsSync(marker))).resolves.toBe(false)
  })
})

describe('dev origins from scripts, framework configs and dotenv files', () => {
  it.each<[string, Record<string, string | object>, string[]]>([
    ['--port on the dev script beats the config', {
      'package.json': { ...vitePackage, scripts: { dev: 'vite --port 3700 --host' } }, 'vite.config.js': 'export default { server: { port: 3001 } }'
    }, ['http://localhost:3700 <- package.json scripts.dev --port']],
    ['a bare --host before --port takes no value from it', {
      'package.json': { ...vitePackage, scripts: { dev: 'vite --host --port 3002' } }
    }, ['http://localhost:3002 <- package.json scripts.dev --port']],
    ['a host on the dev script without a port applies to the default port', {
      'package.json': { dependencies: { next: '16.0.0' }, scripts: { dev: 'next dev -H 127.0.0.1' } }
    }, ['http://127.0.0.1:3000 <- default']],
    ['ng serve --ssl without a port applies to the port of angular.json', {
      'package.json': { dependencies: { '@angular/core': '^20.0.0' }, scripts: { start: 'ng serve --ssl' } },
      'angular.json': { projects: { shop: { projectType: 'application', architect: { serve: { options: { port: 4201 } } } } } }
    }, ['https://localhost:4201 <- angular.json projects.shop.architect.serve.options.port']],
    ['PORT= before react-scripts', {
      'package.json': { dependencies: { react: '^18.2.0', 'react-scripts': '5.0.1' }, scripts: { start: 'PORT=3800 react-scripts start' } }
    }, ['http://localhost:3800 <- package.json scripts.start PORT=']],
    ['cross-env PORT= and a build script that is ignored', {
      'package.json': { dependencies: { next: '16.0.0' }, scripts: { dev: 'cross-env PORT=3900 next dev', start: 'next start -p 8000' } }
    }, ['http://localhost:3900 <- package.json scripts.dev PORT=']],
    ['concurrently running the dev server', {
      'package.json': { ...vitePackage, scripts: { dev: 'concurrently "vite --port 4100" "node server.js --port 8080"' } }
    }, ['http://localhost:4100 <- package.json scripts.dev --port']],
    ['ng serve --port with --ssl', {
      'package.json': { dependencies: { '@angular/core': '^20.0.0' }, scripts: { start: 'ng serve --port 4400 --ssl' } }
    }, ['https://localhost:4400 <- package.json scripts.start --port']],
    ['every application of angular.json, libraries left out', {
      'package.json': { dependencies: { '@angular/core': '^20.0.0' }, scripts: { start: 'ng serve' } },
      'angular.json': {
        projects: {
          shop: { projectType: 'application', architect: { serve: { options: { port: 4201 } } } },
          back: { projectType: 'application', architect: { serve: { options: { port: 4202, host: '0.0.0.0' } } } },
          kit: { projectType: 'library', architect: { serve: { options: { port: 4999 } } } }
        }
      }
    }, ['http://localhost:4201 <- angular.json projects.shop.architect.serve.options.port', 'http://localhost:4202 <- angular.json projects.back.architect.serve.options.port']],
    ['Nuxt devServer.port', {
      'package.json': { dependencies: { nuxt: '^4.0.0' }, scripts: { dev: 'nuxt dev' } },
      'nuxt.config.ts': 'export default defineNuxtConfig({ devServer: { port: 3210 } })'
    }, ['http://localhost:3210 <- nuxt.config.ts devServer.port']],
    ['Nuxt: NUXT_PORT in .env beats nuxt.config', {
      'package.json': { dependencies: { nuxt: '^4.0.0' }, scripts: { dev: 'nuxt dev' } },
      'nuxt.config.ts': 'export default defineNuxtConfig({ devServer: { port: 3210 } })',
      '.env': 'NUXT_PORT=3220\n'
    }, ['http://localhost:3220 <- .env NUXT_PORT']],
    ['Astro server.port', {
      'package.json': { dependencies: { astro: '^5.0.0' }, scripts: { dev: 'astro dev' } },
      'astro.config.mjs': "import { defineConfig } from 'astro/config'\nexport default defineConfig({ server: { port: 4330 } })"
    }, ['http://localhost:4330 <- astro.config.mjs server.port']],
    ['Next ignores PORT in .env: the server starts before it is read', {
      'package.json': { dependencies: { next: '16.0.0' }, scripts: { dev: 'next dev' } },
      '.env.local': 'PORT=4500\n'
    }, ['http://localhost:3000 <- default']],
    ['$PORT on the command line found in the dotenv files', {
      'package.json': { dependencies: { next: '16.0.0' }, scripts: { dev: 'next dev -p $PORT' } },
      '.env.development': 'PORT=4600\n'
    }, ['http://localhost:4600 <- package.json scripts.dev -p']],
    ['Flutter web port from the editor launch settings', {
      'pubspec.yaml': 'name: app\npublish_to: none\ndependencies:\n  flutter:\n    sdk: flutter\n',
      '.vscode/launch.json': '{ // comments are allowed here\n "configurations": [{ "args": ["--web-port", "5050"] }] }'
    }, ['http://localhost:5050 <- .vscode/launch.json --web-port']]
  ])('%s', async (_, files, expected) => {
    expect(await originsOf(files)).toEqual(expected)
  })
})

describe('reading config text', () => {
  it('keeps comment markers inside strings', () => {
    expect(stripComments("const a = 'http://x' // gone\nconst b = \"/* kept */\" /* gone */")).toBe("const a = 'http://x' \nconst b = \"/* kept */\"  ")
  })

  it('finds the outermost object of a key, with its own properties only', () => {
    const server = objectProperty('{ a: { server: { port: 1 } }, server: { port: 2, hmr: { port: 3 } } }', 'server')
    expect(server === null ? null : Object.fromEntries(server)).toEqual({ port: '2', hmr: '{ port: 3 }' })
  })

  it('splits scripts into the commands they run', () => {
    const commands = devCommands(scriptCommands({
      dev: 'npm run codegen && NODE_ENV=development pnpm exec vite --port 3001',
      build: 'vite build',
      start: 'npx -y next dev -p 4000; echo done'
    }))
    expect(commands.map((c) => [c.script, c.binary, c.args.join(' '), JSON.stringify(c.env)])).toEqual([
      ['dev', 'vite', '--port 3001', '{"NODE_ENV":"development"}'],
      ['start', 'next', 'dev -p 4000', '{}']
    ])
  })
})
