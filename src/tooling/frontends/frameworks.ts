import { objectProperty } from './config-text.ts'
import { configFileName, has, majorOf, nxExecutors, runs, targetRunners, usesNxPlugin, viteImports, type AppContext } from './app-context.ts'
import { isRecord } from './read-file.ts'
import { devCommands } from './scripts.ts'
import type { FrameworkId } from './types.ts'

/** PortDefault is the port a dev server uses when nothing says otherwise, and why. */
export interface PortDefault {
  port: number
  source: string
}

/** FrameworkMatch is a recognised app: its framework and where its dev origin may be configured. */
export interface FrameworkMatch {
  framework: FrameworkId
  /** versionPackage is the package whose version is the framework's version. */
  versionPackage: string | null
  bundler: string | null
  /** config is the config file that may set the dev server's port. */
  config: 'vite' | 'angular' | 'nuxt' | 'astro' | null
  /** envPorts are dotenv variables the dev server itself reads its port from. */
  envPorts: string[]
  /** envFirst: the variable beats the config file (Nuxt), rather than the other way round. */
  envFirst: boolean
  defaults: PortDefault[]
}

/** Packages that a library lists as peer dependencies and an app never does. */
const FRAMEWORK_CORES = ['react', 'react-dom', 'vue', '@angular/core', 'svelte', 'solid-js', 'next', 'nuxt', 'astro', 'react-native', 'expo', '@sveltejs/kit']

const VITE_PLUGINS: Array<[string, string]> = [
  ['@vitejs/plugin-react', 'react'], ['@vitejs/plugin-react-swc', 'react'], ['@vitejs/plugin-react-oxc', 'react'],
  ['@vitejs/plugin-vue', 'vue'], ['@sveltejs/vite-plugin-svelte', 'svelte'], ['vite-plugin-solid', 'solid'],
  ['@preact/preset-vite', 'preact'], ['@builder.io/qwik', 'qwik'], ['@analogjs/platform', 'analog']
]

const VITE = (port = 5173): PortDefault[] => [{ port, source: 'default' }]

/**
 * matchFramework recognises the framework of an app folder, most specific first (an Expo app also
 * depends on react, a Next app on react, a Nuxt app on vue). A framework needs both a dependency and
 * evidence that this folder runs it (its config file, a script, or an Nx executor), which keeps
 * libraries, monorepo roots and backends out. Returns null for anything that is not a frontend app.
 */
export function matchFramework (ctx: AppContext): FrameworkMatch | null {
  if (FRAMEWORK_CORES.some((dep) => Object.hasOwn(ctx.peerDeps, dep))) return null
  if (ctx.projectJson?.projectType === 'library') return null
  if (ctx.viteConfig !== null && objectProperty(ctx.viteConfig.text, 'build')?.has('lib') === true) return null
  const imports = viteImports(ctx)
  const base = { envPorts: [] as string[], envFirst: false }

  if (has(ctx, 'expo') && (ctx.appJson?.expo !== undefined || configFileName(ctx, 'app.config') !== null || runs(ctx, 'expo') || usesNxPlugin(ctx, '@nx/expo'))) {
    // Expo serves the web build from Metro's port; without react-native-web there is no web app.
    const web = has(ctx, 'react-native-web') ? [{ port: 8081, source: 'default' }] : []
    return { ...base, framework: 'expo', versionPackage: 'expo', bundler: 'metro', config: null, defaults: web }
  }
  const ionic = ['@ionic/angular', '@ionic/react', '@ionic/vue'].find((dep) => has(ctx, dep))
  if (ionic !== undefined && (ctx.files.has('ionic.config.json') || configFileName(ctx, 'capacitor.config') !== null || runs(ctx, 'ionic'))) {
    return ionicMatch(ctx, ionic)
  }
  if (has(ctx, 'next') && (configFileName(ctx, 'next.config') !== null || runs(ctx, 'next') || usesNxPlugin(ctx, '@nx/next'))) {
    return { ...base, framework: 'next', versionPackage: 'next', bundler: nextBundler(ctx), config: null, defaults: [{ port: 3000, source: 'default' }] }
  }
  const nuxt = ['nuxt', 'nuxt3', 'nuxt-edge'].find((dep) => has(ctx, dep))
  if (nuxt !== undefined && (configFileName(ctx, 'nuxt.config') !== null || runs(ctx, 'nuxt') || runs(ctx, 'nuxi') || usesNxPlugin(ctx, '@nx/nuxt'))) {
    const major = majorOf(ctx.deps[nuxt])
    return { framework: 'nuxt', versionPackage: nuxt, bundler: major !== null && major < 3 ? 'webpack' : 'vite', config: 'nuxt', envPorts: ['NUXT_PORT', 'NITRO_PORT', 'PORT'], envFirst: true, defaults: [{ port: 3000, source: 'default' }] }
  }
  const remix = ['@remix-run/react', '@remix-run/dev'].find((dep) => has(ctx, dep))
  const remixVite = [...imports].some((m) => m.startsWith('@remix-run/dev'))
  if (remix !== undefined && (remixVite || configFileName(ctx, 'remix.config') !== null || runs(ctx, 'remix') || usesNxPlugin(ctx, '@nx/remix'))) {
    const vite = remixVite || ctx.viteConfig !== null
    return { ...base, framework: 'remix', versionPackage: remix, bundler: vite ? 'vite' : 'esbuild', config: vite ? 'vite' : null, defaults: VITE(vite ? 5173 : 3000) }
  }
  if (has(ctx, '@react-router/dev') && (imports.has('@react-router/dev/vite') || configFileName(ctx, 'react-router.config') !== null || runs(ctx, 'react-router'))) {
    return { ...base, framework: 'react-router', versionPackage: has(ctx, 'react-router') ? 'react-router' : '@react-router/dev', bundler: 'vite', config: 'vite', defaults: VITE() }
  }
  if (has(ctx, 'astro') && (configFileName(ctx, 'astro.config') !== null || runs(ctx, 'astro'))) {
    return { ...base, framework: 'astro', versionPackage: 'astro', bundler: 'vite', config: 'astro', defaults: [{ port: 4321, source: 'default' }] }
  }
  if (has(ctx, '@sveltejs/kit') && (imports.has('@sveltejs/kit/vite') || configFileName(ctx, 'svelte.config') !== null || runs(ctx, 'svelte-kit'))) {
    return { ...base, framework: 'sveltekit', versionPackage: '@sveltejs/kit', bundler: 'vite', config: 'vite', defaults: VITE() }
  }
  if (has(ctx, '@angular/core') && (ctx.files.has('angular.json') || runs(ctx, 'ng') || nxExecutors(ctx).some((e) => e.includes('angular')))) {
    return { ...base, framework: 'angular', versionPackage: '@angular/core', bundler: angularBundler(ctx), config: 'angular', defaults: [{ port: 4200, source: 'default' }] }
  }
  const hint = vitePluginHint(ctx, imports)
  const viteApp = (has(ctx, 'vite') || ctx.viteConfig !== null) && (ctx.viteConfig !== null || ctx.files.has('index.html') || runs(ctx, 'vite'))
  if (has(ctx, 'solid-js') && (has(ctx, '@solidjs/start') || hint === 'solid')) {
    // SolidStart 1 runs on Vinxi (port 3000); SolidStart 2 and plain Solid run on Vite.
    const vinxi = has(ctx, 'vinxi') || runs(ctx, 'vinxi')
    if (vinxi || viteApp) {
      return { ...base, framework: 'solid', versionPackage: has(ctx, '@solidjs/start') ? '@solidjs/start' : 'solid-js', bundler: 'vite', config: vinxi ? null : 'vite', defaults: VITE(vinxi ? 3000 : 5173) }
    }
  }
  if (has(ctx, 'react-native') && (ctx.files.has('metro.config.js') || ctx.appJson !== null || runs(ctx, 'react-native') || usesNxPlugin(ctx, '@nx/react-native'))) {
    // Metro serves bundles to a device, not a page to a browser: a bare React Native app has no web origin.
    return { ...base, framework: 'react-native', versionPackage: 'react-native', bundler: 'metro', config: null, defaults: [] }
  }
  if (has(ctx, 'react-scripts') && (runs(ctx, 'react-scripts') || runs(ctx, 'craco') || runs(ctx, 'react-app-rewired'))) {
    return { framework: 'react-cra', versionPackage: 'react', bundler: 'webpack', config: null, envPorts: ['PORT'], envFirst: false, defaults: [{ port: 3000, source: 'default' }] }
  }
  if (viteApp && (hint === 'react' || (hint === null && has(ctx, 'react')))) {
    return { ...base, framework: 'react-vite', versionPackage: 'react', bundler: 'vite', config: 'vite', defaults: VITE() }
  }
  if (viteApp && (hint === 'vue' || (hint === null && has(ctx, 'vue')))) {
    return { ...base, framework: 'vue', versionPackage: 'vue', bundler: 'vite', config: 'vite', defaults: VITE() }
  }
  if (has(ctx, 'vue') && has(ctx, '@vue/cli-service') && (runs(ctx, 'vue-cli-service') || configFileName(ctx, 'vue.config') !== null)) {
    return { ...base, framework: 'vue', versionPackage: 'vue', bundler: 'webpack', config: null, defaults: [{ port: 8080, source: 'default' }] }
  }
  if (viteApp && (hint === 'svelte' || (hint === null && has(ctx, 'svelte')))) {
    return { ...base, framework: 'svelte', versionPackage: 'svelte', bundler: 'vite', config: 'vite', defaults: VITE() }
  }
  return null
}

/** vitePluginHint names the UI library a Vite app is built for, from its config's imports or else its plugin dependencies. */
function vitePluginHint (ctx: AppContext, imports: Set<string>): string | null {
  for (const [plugin, library] of VITE_PLUGINS) {
    if (imports.has(plugin)) return library
  }
  // Dependencies borrowed from an Nx root belong to every project at once: they say nothing about this one.
  if (ctx.borrowedDeps) return null
  for (const [plugin, library] of VITE_PLUGINS) {
    if (has(ctx, plugin)) return library
  }
  return null
}

function ionicMatch (ctx: AppContext, ionic: string): FrameworkMatch {
  // `ionic serve` is how Ionic's docs run every Ionic app; it listens on 8100 beside the framework's own server.
  const ionicServe = { port: 8100, source: 'default (ionic serve)' }
  const base = { framework: 'ionic' as const, versionPackage: ionic, envPorts: [] as string[], envFirst: false }
  if (ionic === '@ionic/angular') return { ...base, bundler: angularBundler(ctx), config: 'angular', defaults: [{ port: 4200, source: 'default' }, ionicServe] }
  if (has(ctx, 'react-scripts') || has(ctx, '@vue/cli-service')) {
    return { ...base, bundler: 'webpack', config: null, envPorts: has(ctx, 'react-scripts') ? ['PORT'] : [], defaults: [{ port: has(ctx, 'react-scripts') ? 3000 : 8080, source: 'default' }, ionicServe] }
  }
  return { ...base, bundler: 'vite', config: 'vite', defaults: [{ port: 5173, source: 'default' }, ionicServe] }
}

/** nextBundler: Turbopack is `next dev`'s default from Next 16 (opt out with --webpack); before, opt in with --turbo(pack). */
function nextBundler (ctx: AppContext): string | null {
  if (has(ctx, 'next-rspack')) return 'rspack'
  const args = devCommands(ctx.commands).filter((c) => c.binary === 'next').flatMap((c) => c.args)
  if (args.includes('--webpack')) return 'webpack'
  if (args.includes('--turbopack') || args.includes('--turbo')) return 'turbopack'
  const major = majorOf(ctx.deps.next)
  if (major === null) return null
  return major >= 16 ? 'turbopack' : 'webpack'
}

/** angularBundler reads the build builder: the application builders bundle with esbuild, `:browser` with webpack. */
function angularBundler (ctx: AppContext): string | null {
  const runners = [...nxExecutors(ctx)]
  const projects = isRecord(ctx.angularJson?.projects) ? ctx.angularJson.projects : {}
  for (const project of Object.values(projects)) {
    if (isRecord(project) && project.projectType !== 'library') runners.push(...targetRunners(project))
  }
  for (const runner of runners) {
    if (/:(application|browser-esbuild)$/.test(runner)) return 'esbuild'
    if (/:(browser|webpack-browser)$/.test(runner) || runner.startsWith('@angular-builders/custom-webpack')) return 'webpack'
  }
  return null
}
