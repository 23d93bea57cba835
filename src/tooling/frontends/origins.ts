import type { AppContext, ConfigFile } from './app-context.ts'
import { objectProperty, stringLiteral } from './config-text.ts'
import type { EnvValue } from './env-files.ts'
import type { FrameworkMatch } from './frameworks.ts'
import { isRecord } from './read-file.ts'
import { devCommands, flag, flagValue } from './scripts.ts'

/** DevOrigins are the browser origins of an app's dev server and, for each, where it came from. */
export interface DevOrigins {
  origins: string[]
  originSources: string[]
}

/** OriginInputs is everything an app's dev origin can be read from. */
export interface OriginInputs {
  match: FrameworkMatch
  ctx: AppContext
  env: Map<string, EnvValue>
  /** frameworkConfig is the astro.config or nuxt.config file when the framework has one. */
  frameworkConfig: ConfigFile | null
}

interface Listen {
  port: number | null
  host: string | null
  https: boolean
  source: string | null
}

/**
 * devOrigins works out where the app's dev server listens, most explicit first: a port given on the
 * dev command in package.json scripts; else the framework's config file and the dotenv files the dev
 * server reads (in the order that framework applies them); else the framework's documented default.
 */
export function devOrigins (inputs: OriginInputs): DevOrigins {
  const { match, ctx, env } = inputs
  const out: DevOrigins = { origins: [], originSources: [] }
  const add = (listen: Listen, port: number, source: string): void => {
    const origin = formatOrigin(listen.https, listen.host, port)
    if (out.origins.includes(origin)) return
    out.origins.push(origin)
    out.originSources.push(source)
  }
  const configured = configLayer(inputs)
  const fallback: Listen = configured[0] ?? { port: null, host: null, https: false, source: null }
  const dev = scriptLayer(ctx, env)
  const scripted = dev.filter((s) => s.port !== null)
  if (scripted.length > 0) {
    for (const s of scripted) add({ ...s, host: s.host ?? fallback.host, https: s.https || fallback.https }, s.port ?? 0, s.source ?? '')
    return out
  }
  // A dev command that sets only the host or HTTPS (`next dev -H 127.0.0.1`, `ng serve --ssl`) still
  // decides how the browser reaches the port that the config or the default gives.
  const flags = dev[0]
  const overlay = (l: Listen): Listen => flags === undefined ? l : { ...l, host: flags.host ?? l.host, https: flags.https || l.https }
  const fromEnv = envPort(match, env)
  const [primary, ...extra] = match.defaults
  for (const listen of (configured.length > 0 ? configured : [fallback]).map(overlay)) {
    const ordered = match.envFirst ? [fromEnv, listen] : [listen, fromEnv]
    const chosen = ordered.find((l) => l.port !== null)
    if (chosen !== undefined) add(listen, chosen.port ?? 0, chosen.source ?? '')
    else if (primary !== undefined) add(listen, primary.port, primary.source)
  }
  for (const more of extra) add({ port: more.port, host: null, https: false, source: more.source }, more.port, more.source)
  return out
}

/** formatOrigin writes an origin; a wildcard or missing host means the machine itself, reached as localhost. */
export function formatOrigin (https: boolean, host: string | null, port: number): string {
  const wildcard = host === null || host === '' || host === '0.0.0.0' || host === '::' || host === 'true'
  const name = wildcard ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `${https ? 'https' : 'http'}://${name}:${port}`
}

/**
 * scriptLayer reads `--port 3001`, `-p 3001`, `PORT=3001` and `--web-port 3001` from the dev commands
 * of the scripts, with their host and HTTPS flags; a command with only those has a null port.
 */
function scriptLayer (ctx: AppContext, env: Map<string, EnvValue>): Listen[] {
  const out: Listen[] = []
  for (const command of devCommands(ctx.commands)) {
    const flutter = command.binary === 'flutter'
    const given = flag(command.args, flutter ? ['--web-port'] : ['--port', '-p'])
    const fromFlag = portNumber(given?.value ?? null, env)
    const fromVar = flutter ? null : portNumber(command.env.PORT ?? null, env)
    const port = fromFlag ?? fromVar
    const host = flagValue(command.args, flutter ? ['--web-hostname'] : ['--host', '--hostname', '-H'])
    const https = command.args.some((a) => a === '--ssl' || a === '--https' || a === '--experimental-https' || a === '--ssl=true')
    if (port === null && host === null && !https) continue
    const how = fromFlag !== null ? given?.name ?? '' : 'PORT='
    out.push({ port, host, https, source: port === null ? null : `package.json scripts.${command.script} ${how}` })
  }
  return out
}

/** portNumber reads a port from a script argument: a number, or `$NAME` found in the app's dotenv files. */
function portNumber (value: string | null, env: Map<string, EnvValue>): number | null {
  if (value === null) return null
  const variable = /^\$\{?([A-Za-z_]\w*)\}?$/.exec(value)
  const text = variable === null ? value : env.get(variable[1] ?? '')?.value ?? ''
  return validPort(text)
}

function validPort (text: string): number | null {
  if (!/^\d{1,5}$/.test(text.trim())) return null
  const port = Number(text)
  return port >= 1 && port <= 65535 ? port : null
}

function envPort (match: FrameworkMatch, env: Map<string, EnvValue>): Listen {
  for (const name of match.envPorts) {
    const found = env.get(name)
    const port = found === undefined ? null : validPort(found.value)
    if (port !== null && found !== undefined) return { port, host: null, https: false, source: `${found.file} ${name}` }
  }
  return { port: null, host: null, https: false, source: null }
}

/** configLayer reads the listen settings of the framework's own config, one entry per served project. */
function configLayer (inputs: OriginInputs): Listen[] {
  const { match, ctx, env } = inputs
  if (match.config === 'angular') return angularLayer(ctx)
  const file = match.config === 'vite' ? ctx.viteConfig : match.config === 'astro' || match.config === 'nuxt' ? inputs.frameworkConfig : null
  if (file === null) return []
  const key = match.config === 'nuxt' ? 'devServer' : 'server'
  const server = objectProperty(file.text, key)
  if (server === null) return []
  const port = expressionPort(server.get('port'), env)
  const hostExpression = server.get('host')
  const host = hostExpression === undefined ? null : stringLiteral(hostExpression) ?? (hostExpression.trim() === 'true' ? 'true' : null)
  const httpsExpression = server.get('https')?.trim()
  const https = httpsExpression !== undefined && httpsExpression !== 'false' && httpsExpression !== 'undefined' && httpsExpression !== 'null'
  const source = port === null ? null : `${file.file} ${key}.port${port.via === null ? '' : ` (${port.via})`}`
  return [{ port: port?.port ?? null, host, https, source }]
}

/**
 * expressionPort reads a port written in config: a number, an environment variable found in the
 * app's dotenv files (`Number(env.VITE_PORT)`, `process.env.PORT`), else a number written as the
 * fallback (`Number(process.env.PORT) || 3001`).
 */
function expressionPort (expression: string | undefined, env: Map<string, EnvValue>): { port: number, via: string | null } | null {
  if (expression === undefined) return null
  const literal = validPort(expression)
  if (literal !== null) return { port: literal, via: null }
  const reference = /(?:process\.env|import\.meta\.env|\benv)\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['"]([A-Za-z_]\w*)['"]\s*\])/g
  for (const match of expression.matchAll(reference)) {
    const name = match[1] ?? match[2] ?? ''
    const found = env.get(name)
    const port = found === undefined ? null : validPort(found.value)
    if (port !== null && found !== undefined) return { port, via: `${found.file} ${name}` }
  }
  const fallback = /\b(\d{2,5})\b/.exec(expression)
  const port = fallback === null ? null : validPort(fallback[1] ?? '')
  return port === null ? null : { port, via: null }
}

/** angularLayer reads `serve.options` (port, host, ssl) of each application of angular.json, or of an Nx project. */
function angularLayer (ctx: AppContext): Listen[] {
  const out: Listen[] = []
  const projects = isRecord(ctx.angularJson?.projects) ? ctx.angularJson.projects : {}
  for (const [name, project] of Object.entries(projects)) {
    if (!isRecord(project) || project.projectType === 'library') continue
    const key = isRecord(project.architect) ? 'architect' : 'targets'
    out.push(serveOptions(project, `angular.json projects.${name}.${key}.serve.options.port`))
  }
  if (out.length === 0 && ctx.projectJson !== null) out.push(serveOptions(ctx.projectJson, 'project.json targets.serve.options.port'))
  return out
}

function serveOptions (project: Record<string, unknown>, source: string): Listen {
  const targets = isRecord(project.architect) ? project.architect : isRecord(project.targets) ? project.targets : {}
  const serve = isRecord(targets.serve) ? targets.serve : {}
  const options = isRecord(serve.options) ? serve.options : {}
  const port = typeof options.port === 'number' ? validPort(String(options.port)) : null
  return {
    port,
    host: typeof options.host === 'string' ? options.host : null,
    https: options.ssl === true,
    source: port === null ? null : source
  }
}
