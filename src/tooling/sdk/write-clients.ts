import { join, resolve } from 'node:path'
import type { DetectedFrontend } from '../frontends/types.ts'
import type { OpenApiDocument } from './document.ts'
import { mergeEnvBlock } from './env-block.ts'
import { planClientFiles } from './frontend-plan.ts'
import { clientModuleSource, envNames, flutterConfigSource, settingsModuleSource, WRITE_CLIENTS_COMMAND, type FrontendSettings } from './frontend-templates.ts'
import { generateSchemaTypes } from './generate.ts'
import { emptyReport, writeOwnedFile, type WriteReport } from './owned-files.ts'

/** WriteClientsOptions says where the apps are, what they call, and with which keys. */
export interface WriteClientsOptions {
  /** root is the folder the frontends' paths are relative to (the detection's root). */
  root: string
  /** baseUrl is the Backplane the apps call, e.g. http://localhost:3000. */
  baseUrl: string
  /** keys holds each frontend's key by frontend name; an app without one gets an empty key setting. */
  keys: Record<string, string>
  /** document is the OpenAPI document the clients are typed from. */
  document: OpenApiDocument
  /** force lets Backplane replace files it did not create (dotenv files keep their other lines). */
  force?: boolean
}

/** WriteClientsResult is what was written, left unchanged and skipped, with the steps left to the user. */
export interface WriteClientsResult extends WriteReport {
  notes: Array<{ frontend: string, note: string }>
}

const KEY_FORMAT = /^[A-Za-z0-9._~+/=-]{0,512}$/

/**
 * writeFrontendClients writes, into each TypeScript/JavaScript app, a client module on openapi-fetch
 * with the API types beside it and the URL and key in the framework's own env file (or settings module),
 * and into each Flutter app a JSON config. Files it did not create are reported as skipped unless
 * `force`; paths in the result are relative to root.
 */
export async function writeFrontendClients (frontends: DetectedFrontend[], options: WriteClientsOptions): Promise<WriteClientsResult> {
  const baseUrl = checkedBaseUrl(options.baseUrl)
  const root = resolve(options.root)
  const force = options.force ?? false
  const report = emptyReport()
  const notes: WriteClientsResult['notes'] = []
  // Keys land in source and env files: anything but a plain token could break out of them. All are
  // checked before the first write, so a bad one leaves no app half-written.
  for (const frontend of frontends) {
    if (!KEY_FORMAT.test(options.keys[frontend.name] ?? '')) throw new RangeError(`the key for ${frontend.name} is not a Backplane key`)
  }
  let schema: string | undefined
  for (const frontend of frontends) {
    const key = options.keys[frontend.name] ?? ''
    const settings: FrontendSettings = { baseUrl, key }
    const plan = await planClientFiles(frontend, resolve(root, frontend.path))
    const at = (file: string) => join(frontend.path, file)
    const typed = frontend.language !== 'javascript'
    if (plan.module !== null && plan.schema !== null) {
      const module = plan.module
      const schemaFile = plan.schema
      schema ??= await generateSchemaTypes(options.document, WRITE_CLIENTS_COMMAND)
      const schemaText = schema
      await writeOwnedFile({ root, file: at(schemaFile), kind: 'code', force, render: () => schemaText }, report)
      await writeOwnedFile({ root, file: at(module), kind: 'code', force, render: () => clientModuleSource({ ...plan, module, schema: schemaFile }, typed, settings) }, report)
    }
    const config = plan.config
    const skippedBefore = report.skipped.length
    if (config.kind === 'dotenv') {
      const names = envNames(config)
      const vars: Array<[string, string]> = [[names.url, baseUrl], [names.key, key]]
      await writeOwnedFile({
        root,
        file: at(config.file),
        kind: 'dotenv',
        force,
        render: (existing) => mergeEnvBlock(existing, vars),
        refusal: `add ${names.url} and ${names.key} yourself, or pass --force to add Backplane's lines (the rest of the file is kept)`
      }, report)
    } else if (config.kind === 'module') {
      await writeOwnedFile({ root, file: at(config.file), kind: 'code', force, render: () => settingsModuleSource(typed, settings) }, report)
    } else {
      await writeOwnedFile({ root, file: at(config.file), kind: 'json', force, render: () => flutterConfigSource(settings) }, report)
    }
    if (key === '') notes.push({ frontend: frontend.name, note: 'no frontend key was given: the key setting is empty' })
    // The key exists in clear only now (a sync shows it once, a rotation just made it): when its file
    // was skipped, this is the one place left to see it.
    else if (report.skipped.length > skippedBefore) notes.push({ frontend: frontend.name, note: `its key was not written into ${at(config.file)}; set it yourself (shown this once): ${key}` })
    for (const note of plan.notes) notes.push({ frontend: frontend.name, note })
  }
  return { ...report, notes }
}

/** formatWriteClients prints a result for people: one line per file, then the steps left to do. */
export function formatWriteClients (result: WriteClientsResult): string {
  const lines = [
    ...result.written.map((f) => `wrote     ${f}`),
    ...result.unchanged.map((f) => `unchanged ${f}`),
    ...result.skipped.map((s) => `skipped   ${s.file}: ${s.reason}`)
  ]
  if (lines.length === 0) lines.push('no frontend to write a client into')
  if (result.notes.length > 0) {
    lines.push('', 'next steps:')
    for (const n of result.notes) lines.push(`  ${n.frontend}: ${n.note}`)
  }
  return lines.join('\n') + '\n'
}

/** checkedBaseUrl accepts an http(s) URL without credentials, query or fragment, written without a trailing slash. */
function checkedBaseUrl (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new RangeError(`not a URL: ${value}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`the Backplane URL must be http or https: ${value}`)
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw new RangeError(`the Backplane URL must have no credentials, query or fragment: ${value}`)
  return url.href.replace(/\/+$/, '')
}
