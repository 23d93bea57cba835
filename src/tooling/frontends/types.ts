/** FrameworkId names the kind of frontend app the detector recognises. */
export type FrameworkId =
  | 'react-vite' | 'react-cra' | 'vue' | 'angular' | 'next' | 'nuxt' | 'sveltekit' | 'svelte'
  | 'solid' | 'astro' | 'remix' | 'react-router' | 'expo' | 'react-native' | 'ionic' | 'flutter'

/** PackageManagerId names the tool that installs an app's dependencies. */
export type PackageManagerId = 'npm' | 'pnpm' | 'yarn' | 'bun' | 'pub'

/** MonorepoKind names the tool that ties the packages of a monorepo together. */
export type MonorepoKind = 'npm-workspaces' | 'pnpm' | 'yarn' | 'nx' | 'turborepo'

/** DetectedFrontend is one frontend app found in a workspace, as its own files describe it. */
export interface DetectedFrontend {
  name: string
  /** path is relative to the scanned directory, '.' for the directory itself. */
  path: string
  framework: FrameworkId
  frameworkVersion: string | null
  /** bundler is vite, webpack, turbopack, esbuild, metro… when known. */
  bundler: string | null
  packageManager: PackageManagerId | null
  origins: string[]
  /** originSources says where each origin came from, e.g. 'vite.config.ts server.port' or 'default'. */
  originSources: string[]
  language: 'typescript' | 'javascript' | 'dart'
  monorepo: MonorepoKind | null
}

/** DetectionProblem is a file that could not be read as written; the scan goes on without it. */
export interface DetectionProblem {
  path: string
  file: string
  message: string
}

/** DetectionResult is everything one scan found. */
export interface DetectionResult {
  root: string
  frontends: DetectedFrontend[]
  problems: DetectionProblem[]
  scannedDirs: number
}

/** DetectOptions bounds a scan and lets a caller show its progress. */
export interface DetectOptions {
  maxDepth?: number
  onProgress?: (scannedDirs: number, current: string) => void
}
