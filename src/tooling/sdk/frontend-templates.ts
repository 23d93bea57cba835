import { posix } from 'node:path'
import { FRONTEND_KEY_HEADER, tsString } from './client-template.ts'
import type { ClientPlan, ConfigPlan } from './frontend-plan.ts'
import { codeHeader } from './owned-files.ts'

/** WRITE_CLIENTS_COMMAND is the command that rewrites the files written into frontends. */
export const WRITE_CLIENTS_COMMAND = 'backplane frontends sync --write-clients'

/** FrontendSettings are the values written into one app. */
export interface FrontendSettings {
  baseUrl: string
  /** key is the app's frontend key; empty when it has none yet. */
  key: string
}

/** envNames are the variable names an app's env file uses for the URL and the key. */
export function envNames (config: Extract<ConfigPlan, { kind: 'dotenv' }>): { url: string, key: string } {
  return { url: `${config.prefix}BACKPLANE_URL`, key: `${config.prefix}BACKPLANE_KEY` }
}

/** settingsModuleSource is the source of a settings module (Angular environments, bare React Native). */
export function settingsModuleSource (typed: boolean, settings: FrontendSettings): string {
  return `${codeHeader(WRITE_CLIENTS_COMMAND)}
/** backplaneConfig says where this app's Backplane is and the key that identifies the app to it. */
export const backplaneConfig${typed ? ': { url: string, key: string }' : ''} = {
  url: ${tsString(settings.baseUrl)},
  key: ${tsString(settings.key)}
}
`
}

/** flutterConfigSource is the JSON config a Flutter app loads from its assets. */
export function flutterConfigSource (settings: FrontendSettings): string {
  return JSON.stringify({ _generatedBy: 'backplane', _rewrittenBy: WRITE_CLIENTS_COMMAND, baseUrl: settings.baseUrl, frontendKey: settings.key, frontendKeyHeader: FRONTEND_KEY_HEADER }, null, 2) + '\n'
}

/** ClientSettingsCode is how a client module reads its URL and key, and what it imports to do so. */
interface ClientSettingsCode {
  imports: string
  url: string
  key: string
  /** perCall reads the settings inside the factory (Nuxt's runtime config exists only in a Nuxt context). */
  perCall: boolean
}

/** settingsCode reads the URL and key the framework's way, falling back to the URL written at generation. */
function settingsCode (config: ConfigPlan, dir: string, settings: FrontendSettings): ClientSettingsCode {
  const fallbackUrl = tsString(settings.baseUrl)
  if (config.kind === 'dotenv' && config.reader !== 'nuxt') {
    const names = envNames(config)
    return { imports: '', url: `${config.reader}.${names.url} || ${fallbackUrl}`, key: `${config.reader}.${names.key} || ''`, perCall: false }
  }
  if (config.kind === 'module') {
    const from = relativeSpecifier(dir, config.file.replace(/\.(ts|js)$/, ''))
    return { imports: `import { backplaneConfig } from '${from}'\n`, url: 'backplaneConfig.url', key: 'backplaneConfig.key', perCall: false }
  }
  return {
    imports: 'import { useRuntimeConfig } from \'#imports\'\n',
    url: `String(useRuntimeConfig().public.backplaneUrl || ${fallbackUrl})`,
    key: 'String(useRuntimeConfig().public.backplaneKey || \'\')',
    perCall: true
  }
}

/**
 * clientModuleSource is an app's client module: `createBackplane(getToken?)` (Nuxt: `useBackplane`) on
 * openapi-fetch, typed by the schema file beside it, reading the URL and key the framework's way. It
 * keeps no token state, so a server-rendered app never sends one user's token with another's request.
 */
export function clientModuleSource (plan: ClientPlan & { module: string, schema: string }, typed: boolean, settings: FrontendSettings): string {
  const dir = posix.dirname(plan.module)
  const schema = relativeSpecifier(dir, plan.schema.replace(/\.d\.ts$/, ''))
  const code = settingsCode(plan.config, dir, settings)
  const t = (annotation: string) => typed ? annotation : ''
  const tokenType = 'string | null | undefined | Promise<string | null | undefined>'
  const factory = code.perCall ? 'useBackplane' : 'createBackplane'
  const types = typed
    ? `import type { Client } from 'openapi-fetch'\nimport type { paths } from '${schema}'\n${code.imports}\nexport type { paths, components, operations } from '${schema}'\n`
    : `${code.imports}\n/** @typedef {import('${schema}').paths} paths */\n`
  const moduleSettings = code.perCall
    ? ''
    : `\n/** backplaneUrl is the Backplane this app calls. */\nexport const backplaneUrl${t(': string')} = ${code.url}\n\n/** frontendKey identifies this app to Backplane. */\nconst frontendKey${t(': string')} = ${code.key}\n`
  const callSettings = code.perCall ? `  const frontendKey = ${code.key}\n` : ''
  const jsDoc = typed ? '' : ` *\n * @param {() => (${tokenType})} [getToken]\n * @returns {import('openapi-fetch').Client<paths>}\n`
  const anonymous = code.perCall ? '' : '\n/** backplane is a client without a user token, for public calls such as sign-in. */\nexport const backplane = createBackplane()\n'
  return `${codeHeader(WRITE_CLIENTS_COMMAND)}import createClient from 'openapi-fetch'
${types}${moduleSettings}
/**
 * ${factory} makes a typed client for this app's Backplane; \`getToken\` returns the signed-in user's
 * access token (sent as Authorization: Bearer). Example: \`const { data } = await api.GET('/api/v1/users/me')\`.
${jsDoc} */
export function ${factory} (getToken${t(`?: () => ${tokenType}`)})${t(': Client<paths>')} {
${callSettings}  const client = createClient${t('<paths>')}({ baseUrl: ${code.perCall ? code.url : 'backplaneUrl'} })
  client.use({
    async onRequest ({ request }) {
      const token = getToken === undefined ? undefined : await getToken()
      if (typeof token === 'string' && token !== '') request.headers.set('Authorization', \`Bearer \${token}\`)
      if (frontendKey !== '') request.headers.set(${tsString(FRONTEND_KEY_HEADER)}, frontendKey)
      return request
    }
  })
  return client
}
${anonymous}`
}

/** relativeSpecifier is the import path from a folder to a file, both relative to the app. */
function relativeSpecifier (fromDir: string, file: string): string {
  const rel = posix.relative(fromDir, file)
  return rel.startsWith('.') ? rel : `./${rel}`
}
