import type { OpenAPI3 } from 'openapi-typescript'

/** OpenApiDocument is the OpenAPI 3.1 document Backplane serves at `/openapi.json`. */
export type OpenApiDocument = OpenAPI3

/** OpenApiSourceError is a document that could not be fetched or is not an OpenAPI 3 document. */
export class OpenApiSourceError extends Error {
  override name = 'OpenApiSourceError'
}

/**
 * fetchOpenApiDocument reads `<baseUrl>/openapi.json` from a running Backplane, within a bounded
 * time: the types then match exactly what that server accepts and returns.
 */
export async function fetchOpenApiDocument (baseUrl: string, options: { timeoutMs?: number } = {}): Promise<OpenApiDocument> {
  // Relative to the base path, so a Backplane served under a prefix (https://host/backplane) works too.
  const url = new URL('openapi.json', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 15_000), headers: { accept: 'application/json' } })
  } catch (err) {
    throw new OpenApiSourceError(`could not reach ${url.href}: ${(err as Error).message}`)
  }
  if (res.status === 404) throw new OpenApiSourceError(`${url.href} answered 404: is DOCS_ENABLED off on that server?`)
  if (!res.ok) throw new OpenApiSourceError(`${url.href} answered ${res.status}`)
  return asOpenApiDocument(await res.json().catch(() => null), url.href)
}

/** asOpenApiDocument checks the shape the generator relies on before it is trusted as a document. */
export function asOpenApiDocument (value: unknown, from: string): OpenApiDocument {
  if (typeof value !== 'object' || value === null) throw new OpenApiSourceError(`${from} did not return a JSON object`)
  const doc = value as Partial<OpenApiDocument>
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) throw new OpenApiSourceError(`${from} did not return an OpenAPI 3 document`)
  if (typeof doc.paths !== 'object' || doc.paths === null) throw new OpenApiSourceError(`${from} returned an OpenAPI document without paths`)
  return doc as OpenApiDocument
}
