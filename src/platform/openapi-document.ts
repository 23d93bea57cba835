/**
 * What @fastify/swagger cannot read from the route schemas is corrected in the generated document
 * here, so the document says what the server does: error replies are `application/problem+json`
 * (the error handler sets that type; the schemas only carry the body), and a query parameter with
 * a default is optional (Ajv fills the default in; TypeBox lists the property as required).
 */

interface Parameter { in?: string, required?: boolean, schema?: { default?: unknown } }
interface Response { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
interface Operation { parameters?: Parameter[], responses?: Record<string, Response> }
interface OpenApiDocument { paths?: Record<string, Record<string, Operation> | undefined> }

const PROBLEM_FIELDS = ['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId']

function isProblem (schema: { properties?: Record<string, unknown> } | undefined): boolean {
  const properties = schema?.properties
  return properties !== undefined && PROBLEM_FIELDS.every((field) => field in properties)
}

/** correctDocument fixes the error content types and the defaulted query parameters of every operation, in place. */
export function correctDocument<D extends object> (doc: D): D {
  // Path items also hold `parameters`, `summary` …: only objects with responses are operations.
  for (const item of Object.values((doc as OpenApiDocument).paths ?? {})) {
    for (const op of Object.values(item ?? {})) {
      if (typeof op !== 'object' || op === null) continue
      for (const param of op.parameters ?? []) {
        if (param.in === 'query' && param.schema?.default !== undefined) delete param.required
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const json = response.content?.['application/json']
        if (!/^[45]/.test(status) || !json || !isProblem(json.schema)) continue
        response.content = { 'application/problem+json': json }
      }
    }
  }
  return doc
}
