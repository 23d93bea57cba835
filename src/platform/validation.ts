import AjvCompiler from '@fastify/ajv-compiler'
import type { FastifySchema, FastifyServerOptions } from 'fastify'

type ValidatorFactory = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>
interface RouteSchema { schema: FastifySchema, method: string, url: string, httpPart?: string }

/**
 * validatorFactory compiles route schemas with two Ajv configurations: bodies are never coerced
 * and never stripped (a wrong type or unknown property is a 400, SECURITY.md decision 7), while
 * query strings, params and headers are text on the wire and so are coerced to their declared types.
 */
export const validatorFactory: ValidatorFactory = (externalSchemas: Record<string, unknown>) => {
  const factory = AjvCompiler()
  const shared = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false } as const
  const body = factory(externalSchemas as never, { customOptions: { ...shared, coerceTypes: false } }) as unknown as (route: RouteSchema) => unknown
  const text = factory(externalSchemas as never, { customOptions: { ...shared, coerceTypes: 'array' } }) as unknown as (route: RouteSchema) => unknown
  return ((route: RouteSchema) => (route.httpPart === 'body' ? body(route) : text(route))) as never
}
