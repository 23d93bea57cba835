import AjvCompiler from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifySchema, FastifyServerOptions } from 'fastify'

type Compilers = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type ValidatorFactory = NonNullable<Compilers['buildValidator']>
type SerializerFactory = NonNullable<Compilers['buildSerializer']>
interface RouteSchema { schema: FastifySchema, method: string, url: string, httpPart?: string }
type Validator = ((data: unknown) => unknown) & { errors?: unknown }
type Serializer = (data: unknown) => string

/**
 * lazyValidator compiles on the first call: Fastify compiles each of ~90 routes' validators and
 * response serializers at start-up, which was about half of `start()`'s time (614 → 301 ms in
 * bench/startup.ts) and ~18 MB of the heap after start, for routes most processes never serve. Ajv reports a failure on the function's
 * `errors`, which Fastify reads from the function it was given: it is copied across.
 */
function lazyValidator (compile: () => Validator): Validator {
  let compiled: Validator | undefined
  const validate: Validator = (data) => {
    compiled ??= compile()
    const result = compiled(data)
    validate.errors = compiled.errors
    return result
  }
  return validate
}

/**
 * validatorFactory compiles route schemas with two Ajv configurations: bodies are never coerced
 * and never stripped (a wrong type or unknown property is a 400, SECURITY.md decision 7), while
 * query strings, params and headers are text on the wire and so are coerced to their declared types.
 */
function validatorFactory (lazy: boolean): ValidatorFactory {
  return (externalSchemas: Record<string, unknown>) => {
    const factory = AjvCompiler()
    const shared = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false } as const
    const body = factory(externalSchemas as never, { customOptions: { ...shared, coerceTypes: false } }) as unknown as (route: RouteSchema) => Validator
    const text = factory(externalSchemas as never, { customOptions: { ...shared, coerceTypes: 'array' } }) as unknown as (route: RouteSchema) => Validator
    const compile = (route: RouteSchema): Validator => (route.httpPart === 'body' ? body(route) : text(route))
    return ((route: RouteSchema) => (lazy ? lazyValidator(() => compile(route)) : compile(route))) as never
  }
}

/** serializerFactory is Fastify's own fast-json-stringify compiler, lazy: each response schema compiled on first use. */
function serializerFactory (lazy: boolean): SerializerFactory {
  return (externalSchemas, options) => {
    const build = (SerializerSelector as unknown as () => (schemas: unknown, opts: unknown) => (route: RouteSchema) => Serializer)()(externalSchemas, options)
    return ((route: RouteSchema) => {
      if (!lazy) return build(route)
      let compiled: Serializer | undefined
      return (data: unknown) => (compiled ??= build(route))(data)
    }) as never
  }
}

/**
 * schemaCompilers are the schema controller's compilers. `lazy` (SCHEMA_COMPILE, the default)
 * compiles each route's validators and response serializers on first use; `eager` compiles them
 * all while the app starts, so a schema the compilers refuse stops the start (the test helpers
 * build apps eagerly, so a bad schema fails the tests rather than a first request).
 */
export function schemaCompilers (mode: 'lazy' | 'eager'): Compilers {
  return { buildValidator: validatorFactory(mode === 'lazy'), buildSerializer: serializerFactory(mode === 'lazy') }
}
