import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type TypeScript from 'typescript'
import { sdkClientSource, SDK_COMMAND } from './client-template.ts'
import type { OpenApiDocument } from './document.ts'
import { codeHeader, emptyReport, isInside, writeOwnedFile, type WriteReport } from './owned-files.ts'

/** BACKPLANE_REALTIME_CLIENT is the hand-written realtime client shipped beside the generated SDK. */
export const BACKPLANE_REALTIME_CLIENT = fileURLToPath(new URL('../../../sdk/realtime.ts', import.meta.url))

/**
 * generateSchemaTypes turns an OpenAPI document into TypeScript types (`paths`, `components`,
 * `operations`) with openapi-typescript. The generator is loaded on first use, so other commands
 * never pay for it. `command` names what rewrites the file, in its first line.
 */
export async function generateSchemaTypes (document: OpenApiDocument, command: string = SDK_COMMAND): Promise<string> {
  const { default: openapiTS, astToString, COMMENT_HEADER } = await import('openapi-typescript')
  // TypeScript is a CommonJS module (`export =`): required, as openapi-typescript itself does.
  const ts = createRequire(import.meta.url)('typescript') as typeof TypeScript
  // A file's bytes (`format: binary`, the upload routes' bodies) are a Blob to send, not a string.
  const blob = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'))
  // A copy: openapi-typescript resolves references in place, and the caller may use the document again.
  const ast = await openapiTS(optionalDefaults(structuredClone(document)), {
    silent: true,
    transform: (schema) => schema.format === 'binary' ? blob : undefined
  })
  return codeHeader(command) + COMMENT_HEADER + astToString(ast)
}

/**
 * optionalDefaults marks what the server fills in itself as optional to send: a query, header or
 * cookie parameter with a default, and a request-body property with a default. The route schemas list
 * them as required (the validator fills them before the handler runs), and typed as required they
 * would force every caller to repeat the server's defaults. Responses are left as they are.
 */
export function optionalDefaults (document: OpenApiDocument): OpenApiDocument {
  for (const item of Object.values(document.paths ?? {}) as Array<Record<string, unknown>>) {
    relaxParameters(item.parameters)
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method) || typeof operation !== 'object' || operation === null) continue
      const op = operation as { parameters?: unknown, requestBody?: { content?: Record<string, { schema?: unknown }> } }
      relaxParameters(op.parameters)
      for (const media of Object.values(op.requestBody?.content ?? {})) relaxSchema(media.schema, 0)
    }
  }
  return document
}

/** relaxParameters marks defaulted parameters, other than path ones, as optional. */
function relaxParameters (parameters: unknown): void {
  if (!Array.isArray(parameters)) return
  for (const p of parameters as Array<{ in?: string, required?: boolean, schema?: { default?: unknown } }>) {
    if (p.in !== 'path' && p.schema?.default !== undefined) p.required = false
  }
}

/** relaxSchema drops defaulted properties from `required`, through nested schemas, to a bounded depth. */
function relaxSchema (schema: unknown, depth: number): void {
  if (typeof schema !== 'object' || schema === null || depth > 32) return
  const s = schema as { properties?: Record<string, { default?: unknown }>, required?: string[] }
  if (s.properties !== undefined && Array.isArray(s.required)) {
    s.required = s.required.filter((name) => s.properties?.[name]?.default === undefined)
  }
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) for (const v of value) relaxSchema(v, depth + 1)
    else relaxSchema(value, depth + 1)
  }
}

/** SdkOptions says what to generate from and where to put it. */
export interface SdkOptions {
  document: OpenApiDocument
  /** outDir receives schema.d.ts and client.ts. */
  outDir: string
  force?: boolean
  /** realtimeClient is the realtime module client.ts re-exports; default sdk/realtime.ts when it exists, null for none. */
  realtimeClient?: string | null
}

/**
 * writeSdk writes the typed client into outDir: `schema.d.ts` from the document and `client.ts`
 * (`createBackplaneClient`). A file it did not create is left alone unless `force`; the report names
 * files relative to the working directory.
 */
export async function writeSdk (options: SdkOptions): Promise<WriteReport & { operations: number }> {
  const outDir = resolve(options.outDir)
  const report = emptyReport()
  const force = options.force ?? false
  const schema = await generateSchemaTypes(options.document)
  const realtime = options.realtimeClient === undefined
    ? (existsSync(BACKPLANE_REALTIME_CLIENT) ? BACKPLANE_REALTIME_CLIENT : null)
    : options.realtimeClient
  const realtimeImport = realtime === null ? undefined : await placeRealtimeClient(outDir, resolve(realtime), force, report)
  await writeOwnedFile({ root: outDir, file: 'schema.d.ts', kind: 'code', force, render: () => schema }, report)
  await writeOwnedFile({ root: outDir, file: 'client.ts', kind: 'code', force, render: () => sdkClientSource({ realtimeImport }) }, report)
  // Name files as the user would type them: relative to the working directory when below it.
  const shown = (file: string) => {
    const rel = relative(process.cwd(), join(outDir, file))
    return rel.startsWith('..') ? join(outDir, file) : rel
  }
  report.written = report.written.map(shown)
  report.unchanged = report.unchanged.map(shown)
  report.skipped = report.skipped.map((s) => ({ ...s, file: shown(s.file) }))
  return { ...report, operations: countOperations(options.document) }
}

// The realtime client's own modules: realtime.ts and the types it imports from beside it.
const REALTIME_FILES = ['realtime.ts', 'realtime-types.ts']

/**
 * placeRealtimeClient returns the specifier client.ts re-exports the realtime client from. Inside the
 * project that holds the client (Backplane's own `sdk/generated`), that is its relative path; anywhere
 * else (a frontend's `src/api`), a path back into a Backplane checkout or package would break as soon
 * as either moves, so the client's files are copied beside client.ts, marked as Backplane's.
 */
async function placeRealtimeClient (outDir: string, client: string, force: boolean, report: WriteReport): Promise<string> {
  const home = dirname(dirname(client))
  if (isInside(home, outDir)) return importPath(outDir, client)
  for (const file of REALTIME_FILES) {
    const source = join(dirname(client), file)
    if (file !== basename(client) && !existsSync(source)) continue
    const text = await readFile(file === basename(client) ? client : source, 'utf8')
    await writeOwnedFile({ root: outDir, file, kind: 'code', force, render: () => codeHeader(SDK_COMMAND) + text }, report)
  }
  return `./${basename(client)}`
}

/** importPath is the relative specifier from a folder to a module, as an ES import writes it. */
export function importPath (fromDir: string, file: string): string {
  const rel = relative(fromDir, file).split(sep).join('/')
  return rel.startsWith('.') ? rel : `./${rel}`
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

/** countOperations counts the method-and-path pairs a document describes. */
export function countOperations (document: OpenApiDocument): number {
  let count = 0
  for (const item of Object.values(document.paths ?? {})) {
    for (const method of Object.keys(item)) if (METHODS.has(method)) count++
  }
  return count
}
