import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectFrontends, type DetectionResult } from '../../src/tooling/frontends/detect.ts'
import { copyWorkspaceFixtures } from '../helpers/workspace-fixtures.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const mainScript = join(root, 'src', 'main.ts')
// Scanned from a copy outside the repository (see copyWorkspaceFixtures).
let workspaces = ''
let removeWorkspaces = async (): Promise<void> => {}

interface Run { code: number | null, stdout: string, stderr: string }

/**
 * cli runs `node src/main.ts …` as a real process with no settings at all (no database, no secret):
 * detection must not need them. stdout and stderr are pipes, so no progress indicator is drawn.
 */
function cli (args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainScript, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024
    }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

let cwd: string
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'backplane-cli-frontends-'))
  ;({ dir: workspaces, remove: removeWorkspaces } = await copyWorkspaceFixtures())
})
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true })
  await removeWorkspaces()
})

describe.concurrent('backplane frontends detect', { timeout: 60_000 }, () => {
  it('--json prints the detection result, and nothing else', async () => {
    const run = await cli(['frontends', 'detect', workspaces, '--json'], cwd)
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    const printed = JSON.parse(run.stdout) as DetectionResult
    expect(printed).toEqual(await detectFrontends(workspaces))
    expect(printed.root).toBe(workspaces.replace(/\/$/, ''))
    expect(printed.frontends).toHaveLength(18)
    expect(printed.frontends.find((f) => f.path === 'pnpm-monorepo/apps/web')).toEqual({
      name: '@acme/web',
      path: 'pnpm-monorepo/apps/web',
      framework: 'react-vite',
      frameworkVersion: '^19.3.1',
      bundler: 'vite',
      packageManager: 'pnpm',
      origins: ['http://localhost:3001'],
      originSources: ['vite.config.ts server.port'],
      language: 'typescript',
      monorepo: 'pnpm'
    })
    expect(printed.problems.map((p) => `${p.path}/${p.file}`)).toEqual([
      'broken/bad-angular/angular.json', 'broken/bad-flutter/pubspec.yaml', 'broken/bad-package/package.json', 'broken/list-package/package.json'
    ])
  })

  it('scans the current folder when no folder is given', async () => {
    const run = await cli(['frontends', 'detect', '--json'], join(workspaces, 'vue'))
    expect(run.code).toBe(0)
    expect((JSON.parse(run.stdout) as DetectionResult).frontends.map((f) => [f.name, f.path])).toEqual([['vue-app', '.']])
  })

  it('prints a table with a line per app, then the problems, and exits 0 despite them', async () => {
    const run = await cli(['frontends', 'detect', workspaces], cwd)
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(/^NAME +PATH +FRAMEWORK +PACKAGE MANAGER +ORIGINS$/)
    const expected = [
      ['angular-app', 'angular', 'angular@\\^22.2.0', 'npm', 'http://localhost:4200'],
      ['astro-app', 'astro', 'astro@\\^7.3.5', 'yarn', 'http://localhost:4321'],
      ['bad-angular', 'broken/bad-angular', 'angular@\\^22.2.0', 'npm', 'http://localhost:4200'],
      ['good', 'broken/good', 'react-vite@\\^19.3.1', 'npm', 'http://localhost:5173'],
      ['cra-app', 'cra', 'react-cra@\\^19.3.1', 'npm', 'http://localhost:3005'],
      ['expo-app', 'expo', 'expo@~58.0.0-preview.5', 'npm', 'http://localhost:8081'],
      ['flutter_app', 'flutter', 'flutter', 'pub', '-'],
      ['next-app', 'next', 'next@16.4.3', 'npm', 'http://localhost:3000'],
      ['nuxt-app', 'nuxt', 'nuxt@\\^4.5.2', 'pnpm', 'http://localhost:3000'],
      ['store', 'nx-monorepo/apps/store', 'next@~16.4.3', 'npm', 'http://localhost:3000'],
      ['web', 'nx-monorepo/apps/web', 'react-vite@19.3.0', 'npm', 'http://localhost:4200'],
      ['@nxws/web', 'nx-workspace/apps/web', 'react-vite@\\^19.0.0', 'npm', 'http://localhost:4200'],
      ['@acme/admin', 'pnpm-monorepo/apps/admin', 'angular@\\^22.2.0', 'pnpm', 'http://localhost:4300'],
      ['@acme/web', 'pnpm-monorepo/apps/web', 'react-vite@\\^19.3.1', 'pnpm', 'http://localhost:3001'],
      ['sveltekit-app', 'sveltekit', 'sveltekit@\\^2.63.0', 'bun', 'http://localhost:5173'],
      ['loop-app', 'symlink-loop/app', 'svelte@\\^5.56.1', 'npm', 'http://localhost:5173'],
      ['vite-react-app', 'vite-react', 'react-vite@\\^19.3.1', 'npm', 'http://localhost:5173'],
      ['vue-app', 'vue', 'vue@\\^3.5.42', 'npm', 'http://localhost:5173']
    ]
    expected.forEach((cells, i) => {
      expect(lines[i + 1]).toMatch(new RegExp(`^${cells.join(' +')}$`))
    })
    expect(lines.slice(expected.length + 1, expected.length + 4)).toEqual(['', expect.stringMatching(/^18 frontend apps found in \d+ folders\.$/), ''])
    expect(lines.slice(expected.length + 4)).toEqual([
      'Problems (4):',
      expect.stringMatching(/^ {2}broken\/bad-angular\/angular\.json: invalid JSON: /),
      expect.stringMatching(/^ {2}broken\/bad-flutter\/pubspec\.yaml: invalid YAML: /),
      expect.stringMatching(/^ {2}broken\/bad-package\/package\.json: invalid JSON: /),
      '  broken/list-package/package.json: must be a JSON object',
      ''
    ])
  })

  it('--depth bounds the scan', async () => {
    const run = await cli(['frontends', 'detect', workspaces, '--depth', '0'], cwd)
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`No frontend apps found in ${workspaces.replace(/\/$/, '')} (1 folder scanned).\n`)
    const bad = await cli(['frontends', 'detect', workspaces, '--depth', 'deep'], cwd)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/--depth <n>.*must be a whole number/)
  })

  it('a folder that does not exist: exit 1 with one line', async () => {
    const missing = join(cwd, 'no-such-workspace')
    const run = await cli(['frontends', 'detect', missing], cwd)
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`backplane: directory not found: ${missing}\n`)
  })

  it('--help describes the command without reading any setting', async () => {
    const run = await cli(['frontends', 'detect', '--help'], cwd)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Usage: backplane frontends detect \[options\] \[dir\]/)
    expect(run.stdout).toContain('--json')
    expect(run.stdout).toContain('--depth <n>')
  })

  // `script` gives the command a terminal, as a person running it has.
  it.skipIf(!existsSync('/usr/bin/script'))('shows progress on a terminal, then clears it before the table', async () => {
    const command = [process.execPath, mainScript, 'frontends', 'detect', workspaces].map((a) => `'${a}'`).join(' ')
    const run = await new Promise<Run>((resolve) => {
      execFile('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm' }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
      })
    })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/Scanning… \d+ folders?/)
    const cleared = run.stdout.lastIndexOf('\r\x1b[2K')
    expect(cleared).toBeGreaterThan(-1)
    expect(run.stdout.slice(cleared + 5)).toMatch(/^NAME +PATH +FRAMEWORK/)
  })
})
