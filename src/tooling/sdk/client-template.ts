import { codeHeader } from './owned-files.ts'

/** FRONTEND_KEY_HEADER is the header a generated client sends a frontend's key in. */
export const FRONTEND_KEY_HEADER = 'X-Frontend-Key'

/** tsString writes a value as a single-quoted JavaScript string literal, escaped. */
export function tsString (value: string): string {
  return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`
}

/** SDK_COMMAND is the command that rewrites the files of `sdk/generated`. */
export const SDK_COMMAND = 'backplane sdk'

/**
 * sdkClientSource is `client.ts` of the generated SDK: `createBackplaneClient` on `openapi-fetch`,
 * typed by `./schema.d.ts`, with the realtime client re-exported when its module is given. It uses
 * only erasable TypeScript, so Node runs it as it is and any bundler compiles it.
 */
export function sdkClientSource (options: { realtimeImport?: string } = {}): string {
  const realtime = options.realtimeImport === undefined
    ? ''
    : `\n// The realtime (WebSocket) client, so one import gives both.\nexport * from ${tsString(options.realtimeImport)}\n`
  return `${codeHeader(SDK_COMMAND)}import createClient, { defaultBodySerializer } from 'openapi-fetch'
import type { Client, Middleware } from 'openapi-fetch'
import type { paths } from './schema.d.ts'

export type { paths, components, operations } from './schema.d.ts'
${realtime}
/** FRONTEND_KEY_HEADER is the header the frontend key travels in. */
export const FRONTEND_KEY_HEADER = ${tsString(FRONTEND_KEY_HEADER)}

/** BackplaneClient is a typed client for every operation of the Backplane API. */
export type BackplaneClient = Client<paths>

/** TokenSource returns the current access token, or nothing when signed out. */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>

/** BackplaneClientOptions says where Backplane is and which credentials go with each call. */
export interface BackplaneClientOptions {
  /** baseUrl is the server, e.g. http://localhost:3000 (paths already start with /api/v1). */
  baseUrl: string
  /** apiKey (bp_…) is sent as X-API-Key when there is no token: for scripts and services, never in a browser. */
  apiKey?: string
  /** frontendKey identifies the frontend app; it is sent on every call. */
  frontendKey?: string
  /** getToken is asked before each call; its token is sent as Authorization: Bearer. */
  getToken?: TokenSource
  /** fetch replaces globalThis.fetch (tests, custom agents). */
  fetch?: (input: Request) => Promise<Response>
}

/** credentialsMiddleware adds the bearer token, or else the API key, and the frontend key to each request. */
export function credentialsMiddleware (options: Pick<BackplaneClientOptions, 'apiKey' | 'frontendKey' | 'getToken'>): Middleware {
  return {
    async onRequest ({ request }) {
      const token = options.getToken === undefined ? undefined : await options.getToken()
      // Backplane refuses a request that carries both a token and an API key: send one identity.
      if (typeof token === 'string' && token !== '') request.headers.set('Authorization', \`Bearer \${token}\`)
      else if (options.apiKey !== undefined && options.apiKey !== '') request.headers.set('X-API-Key', options.apiKey)
      if (options.frontendKey !== undefined && options.frontendKey !== '') request.headers.set(FRONTEND_KEY_HEADER, options.frontendKey)
      return request
    }
  }
}

/** FileBody is what an upload call takes: the file as its body, its type as Content-Type. */
export interface FileBody { body: Blob, headers: { 'Content-Type': string } }

/**
 * fileBody prepares a file for an upload operation (\`uploadProjectFile\`, \`uploadTaskAttachment\`,
 * \`uploadExecutionArtifact\`): the bytes are sent as they are, with their own type, never as JSON.
 * @example
 * await client.POST('/api/v1/projects/{id}/files', { params: { path: { id }, query: { name: 'a.pdf' } }, ...fileBody(file) })
 */
export function fileBody (file: Blob, type?: string): FileBody {
  return { body: file, headers: { 'Content-Type': type ?? (file.type === '' ? 'application/octet-stream' : file.type) } }
}

/** serializeBody sends a file's bytes (Blob, ArrayBuffer, typed array) as they are and anything else as openapi-fetch does (JSON). */
function serializeBody (body: unknown): unknown {
  if (body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body
  return defaultBodySerializer(body)
}

/** createBackplaneClient makes a typed client: \`const { data, error } = await client.GET('/api/v1/users/me')\`. */
export function createBackplaneClient (options: BackplaneClientOptions): BackplaneClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\\/+$/, ''),
    bodySerializer: serializeBody,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch })
  })
  client.use(credentialsMiddleware(options))
  return client
}
`
}
