import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readSmallText } from '../frontends/read-file.ts'
import type { DetectedFrontend } from '../frontends/types.ts'

/** EnvReader is how a client module reads its settings: the bundler's own env, or Nuxt's runtime config. */
export type EnvReader = 'import.meta.env' | 'process.env' | 'nuxt'

/** ConfigPlan is where an app keeps the Backplane URL and key. */
export type ConfigPlan =
  /** dotenv: a managed block of `<prefix>BACKPLANE_URL` / `<prefix>BACKPLANE_KEY` in the app's env file. */
  | { kind: 'dotenv', file: string, prefix: string, reader: EnvReader }
  /** module: a source file exporting the settings, for stacks without build-time env files (Angular, bare React Native). */
  | { kind: 'module', file: string }
  /** json: a config file the app loads itself (Flutter). */
  | { kind: 'json', file: string }

/** ClientPlan is every file Backplane writes into one app, relative to the app's folder. */
export interface ClientPlan {
  /** module is the client module, or null where no TypeScript/JavaScript client applies (Flutter). */
  module: string | null
  /** schema holds the API types, beside the module, so the app compiles standalone. */
  schema: string | null
  config: ConfigPlan
  /** notes are the steps left to the user, printed after the files. */
  notes: string[]
}

const INSTALL: Record<string, string> = { npm: 'npm install', pnpm: 'pnpm add', yarn: 'yarn add', bun: 'bun add' }

/**
 * planClientFiles decides, from the framework, where the client module and the settings go, following
 * each framework's conventions (its env prefix, its `src/` or `lib/` folders). JavaScript apps get a
 * `.js` module with JSDoc types.
 */
export async function planClientFiles (frontend: DetectedFrontend, appDir: string): Promise<ClientPlan> {
  const ext = frontend.language === 'javascript' ? 'js' : 'ts'
  const hasDir = async (dir: string) => (await stat(join(appDir, dir)).catch(() => null))?.isDirectory() === true
  const srcOr = async (dir: string) => (await hasDir('src')) ? `src/${dir}` : dir
  const install = INSTALL[frontend.packageManager ?? 'npm'] ?? 'npm install'
  const fetchNote = (await declaresOpenapiFetch(appDir)) ? [] : [`the client imports openapi-fetch: add it to the app (${install} openapi-fetch)`]
  const code = (dir: string, config: ConfigPlan, notes: string[] = []): ClientPlan => ({
    module: `${dir}/backplane.${ext}`,
    schema: `${dir}/backplane-schema.d.ts`,
    config,
    notes: [...fetchNote, ...notes]
  })
  const vite = (prefix = 'VITE_') => code('src/lib', { kind: 'dotenv', file: '.env.local', prefix, reader: 'import.meta.env' })
  switch (frontend.framework) {
    case 'react-vite': case 'vue': case 'svelte': case 'sveltekit': case 'solid': case 'remix': case 'react-router':
      return vite()
    case 'astro':
      return vite('PUBLIC_')
    case 'react-cra':
      // CRA compiles only src/, and exposes only REACT_APP_ variables to the browser.
      return code('src', { kind: 'dotenv', file: '.env.local', prefix: 'REACT_APP_', reader: 'process.env' })
    case 'next':
      return code(await srcOr('lib'), { kind: 'dotenv', file: '.env.local', prefix: 'NEXT_PUBLIC_', reader: 'process.env' })
    case 'nuxt': {
      // Nuxt 4 keeps app code under app/; Nuxt reads .env (not .env.local) in development.
      const dir = (await hasDir('app')) ? 'app/utils' : 'utils'
      return code(dir, { kind: 'dotenv', file: '.env', prefix: 'NUXT_PUBLIC_', reader: 'nuxt' }, [
        'declare the settings in nuxt.config: runtimeConfig: { public: { backplaneUrl: \'\', backplaneKey: \'\' } } (NUXT_PUBLIC_BACKPLANE_* fill them)'
      ])
    }
    case 'expo':
      return code(await srcOr('lib'), { kind: 'dotenv', file: '.env.local', prefix: 'EXPO_PUBLIC_', reader: 'process.env' })
    case 'react-native': {
      const dir = await srcOr('lib')
      return code(dir, { kind: 'module', file: `${dir}/backplane-config.${ext}` })
    }
    case 'angular':
      return angular(ext, fetchNote)
    case 'ionic':
      return frontend.bundler === 'vite' ? vite() : angular(ext, fetchNote)
    case 'flutter':
      return {
        module: null,
        schema: null,
        config: { kind: 'json', file: 'assets/backplane.json' },
        notes: ['list assets/backplane.json under flutter: assets: in pubspec.yaml, then read it with rootBundle.loadString']
      }
  }
}

/** angular keeps the settings in src/environments, where Angular apps keep theirs, and the client in src/app. */
function angular (ext: string, notes: string[]): ClientPlan {
  return {
    module: `src/app/backplane.${ext}`,
    schema: 'src/app/backplane-schema.d.ts',
    config: { kind: 'module', file: `src/environments/backplane.${ext}` },
    notes
  }
}

/** declaresOpenapiFetch tells whether the app's package.json already lists openapi-fetch. */
async function declaresOpenapiFetch (appDir: string): Promise<boolean> {
  const read = await readSmallText(join(appDir, 'package.json'))
  if (!read.ok) return false
  try {
    const manifest = JSON.parse(read.text) as Record<string, unknown>
    return ['dependencies', 'devDependencies', 'peerDependencies'].some((field) => {
      const deps = manifest[field]
      return typeof deps === 'object' && deps !== null && 'openapi-fetch' in deps
    })
  } catch {
    return false
  }
}
