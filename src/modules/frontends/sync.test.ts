import { describe, expect, it } from 'vitest'
import type { DetectedFrontend } from '../../tooling/frontends/types.ts'
import { canonicalOrigin } from './origin.ts'
import { frontendName, planSync, type SyncDetection } from './sync.ts'
import type { FrontendRow } from './table.ts'

const ROOT = '/work/shop'
const NOW = new Date('2025-01-01T00:00:00Z')

function app (name: string, path: string, origins: string[], framework: DetectedFrontend['framework'] = 'react-vite'): DetectedFrontend {
  return { name, path, framework, frameworkVersion: null, bundler: null, packageManager: 'pnpm', origins, originSources: [], language: 'typescript', monorepo: 'pnpm' }
}

function row (name: string, fields: Partial<FrontendRow> = {}): FrontendRow {
  return {
    id: `id-${name}`,
    createdAt: NOW,
    updatedAt: NOW,
    name,
    framework: 'react-vite',
    origins: [],
    detectedOrigins: [],
    apiKeyId: null,
    rateTier: 'default',
    pathPrefix: null,
    channelNamespace: `frontend:${name}`,
    enabled: true,
    source: 'detected',
    detectedPath: null,
    missingSince: null,
    ...fields
  }
}

const scan = (frontends: DetectedFrontend[], problems: SyncDetection['problems'] = []): SyncDetection => ({ root: ROOT, frontends, problems })

describe('frontendName', () => {
  it.each([
    ['@acme/web', 'acme-web'], ['my_app', 'my-app'], ['Web', 'web'], ['@@', 'app'], ['-a-', 'a'], ['x'.repeat(80), 'x'.repeat(63)]
  ])('%s → %s', (given, name) => { expect(frontendName(given)).toBe(name) })
})

describe('canonicalOrigin', () => {
  it.each([
    ['https://App.Example.test', 'https://app.example.test'], ['https://a.test:443', 'https://a.test'], ['http://localhost:5173/', 'http://localhost:5173'],
    ['capacitor://localhost', 'capacitor://localhost'], ['https://bücher.test', 'https://xn--bcher-kva.test']
  ])('%s → %s', (given, origin) => { expect(canonicalOrigin(given)).toBe(origin) })
  it.each(['null', '*', 'https://*.a.test', 'https://a.test/x', 'https://a.test/?', 'https://a.test#', 'https://u:p@a.test', 'file:///x', 'a.test', ' https://a.test', 'data:text/plain,x'])('refuses %s', (given) => {
    expect(canonicalOrigin(given)).toBeNull()
  })
})

describe('planSync', () => {
  it('creates what is new, with its detected origins, folder and namespace', () => {
    const [entry] = planSync([], scan([app('@acme/web', 'apps/web', ['http://localhost:3001'])]), NOW)
    expect(entry).toMatchObject({ name: 'acme-web', action: 'created', origins: ['http://localhost:3001'], path: '/work/shop/apps/web' })
    expect(entry?.create).toMatchObject({ source: 'detected', detectedOrigins: ['http://localhost:3001'], channelNamespace: 'frontend:acme-web', enabled: true })
  })

  it('changes nothing when nothing changed', () => {
    const rows = [row('acme-web', { origins: ['http://localhost:3001'], detectedOrigins: ['http://localhost:3001'], detectedPath: '/work/shop/apps/web' })]
    const [entry] = planSync(rows, scan([app('@acme/web', 'apps/web', ['http://localhost:3001'])]), NOW)
    expect(entry).toMatchObject({ action: 'unchanged' })
    expect(entry?.update).toBeUndefined()
  })

  it('follows a moved folder and a changed port, keeping the origins an admin added', () => {
    const rows = [row('acme-web', { origins: ['http://localhost:3001', 'https://shop.example.test'], detectedOrigins: ['http://localhost:3001'], detectedPath: '/work/shop/apps/web' })]
    const [entry] = planSync(rows, scan([app('@acme/web', 'apps/store', ['http://localhost:3002'])]), NOW)
    expect(entry?.action).toBe('updated')
    expect(entry?.update?.changes).toEqual({ origins: ['http://localhost:3002', 'https://shop.example.test'], detectedOrigins: ['http://localhost:3002'], detectedPath: '/work/shop/apps/store' })
  })

  it('disables what is gone from the scanned folder, never what lies elsewhere, unreadable or disabled by hand', () => {
    const rows = [
      row('gone', { detectedPath: '/work/shop/apps/gone' }),
      row('elsewhere', { detectedPath: '/work/other/apps/x' }),
      row('broken', { detectedPath: '/work/shop/apps/broken' }),
      row('off', { detectedPath: '/work/shop/apps/off', enabled: false }),
      row('manual', { source: 'manual' })
    ]
    const plan = planSync(rows, scan([], [{ path: 'apps/broken', file: 'package.json', message: 'bad JSON' }]), NOW)
    expect(plan.map((e) => [e.name, e.action])).toEqual([['gone', 'disabled'], ['broken', 'unchanged'], ['off', 'unchanged']])
    expect(plan[0]?.update?.changes).toEqual({ enabled: false, missingSince: NOW })
  })

  it('enables a missing frontend that came back, and leaves frontends added by hand alone', () => {
    const rows = [
      row('acme-web', { enabled: false, missingSince: NOW, detectedPath: '/work/shop/apps/web' }),
      row('acme-admin', { source: 'manual', origins: ['https://admin.example.test'] })
    ]
    const plan = planSync(rows, scan([app('@acme/web', 'apps/web', []), app('@acme/admin', 'apps/admin', ['http://localhost:4200'])]), NOW)
    expect(plan[0]).toMatchObject({ action: 'enabled', update: { changes: { enabled: true, missingSince: null } } })
    expect(plan[1]).toMatchObject({ name: 'acme-admin', action: 'kept-manual', origins: ['https://admin.example.test'] })
    expect(plan[1]?.update).toBeUndefined()
  })

  it('gives two apps with one package name distinct names', () => {
    const plan = planSync([], scan([app('web', 'a/web', []), app('web', 'b/web', [])]), NOW)
    expect(plan.map((e) => e.name)).toEqual(['web', 'web-2'])
  })
})
