import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import type * as Yaml from 'yaml'

// The YAML parser (~70 modules) is loaded only when a backplane.yaml is there to read (idle RSS, issue 13).
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text)

/** ConfigSources is the merged flat settings and, per key, where each value came from. */
export interface ConfigSources {
  values: Record<string, string>
  source: Record<string, string>
}

/** ConfigSourceError is a settings file that cannot be read as written. */
export class ConfigSourceError extends Error {
  override name = 'ConfigError'
}

function readYaml (file: string, known: Set<string>): Record<string, string> {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    // The parser's first line ends with a colon introducing a code excerpt, which is left out.
    throw new ConfigSourceError(`${file} is not valid YAML: ${((err as Error).message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`)
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigSourceError(`${file} must be a mapping of setting names to values (e.g. "PORT: 8080")`)
  }
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(doc)) {
    // A typo in a settings file must not be silently ignored.
    if (!known.has(key)) throw new ConfigSourceError(`${file}: unknown setting ${key} (settings use the environment variable names, e.g. PORT)`)
    if (value === null || value === undefined) continue
    if (typeof value === 'object') throw new ConfigSourceError(`${file}: ${key} must be a single value, not a list or mapping`)
    out[key] = String(value)
  }
  return out
}

function readDotEnv (file: string): Record<string, string> {
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>
}

/**
 * readConfigSources merges `backplane.yaml`, then `.env`, then the environment (later wins),
 * keeping only known keys; an empty value counts as unset.
 */
export function readConfigSources (
  env: Record<string, string | undefined>,
  keys: string[],
  options: { cwd?: string, filesOff?: boolean }
): ConfigSources {
  const known = new Set(keys)
  const cwd = options.cwd ?? process.cwd()
  const layers: Array<[string, Record<string, string | undefined>]> = []
  if (!options.filesOff) {
    const yamlFile = join(cwd, 'backplane.yaml')
    if (existsSync(yamlFile)) layers.push(['backplane.yaml', readYaml(yamlFile, known)])
    const envFile = join(cwd, '.env')
    if (existsSync(envFile)) layers.push(['.env', readDotEnv(envFile)])
  }
  layers.push(['environment', env])
  const values: Record<string, string> = {}
  const source: Record<string, string> = {}
  for (const [name, layer] of layers) {
    for (const key of keys) {
      const value = layer[key]
      if (value === undefined || value === '') continue
      values[key] = value
      source[key] = name
    }
  }
  return { values, source }
}
