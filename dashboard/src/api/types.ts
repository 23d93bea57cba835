import type { paths } from './client.ts'

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never

/** Ok is the JSON body of a path's method's 200 (or 201) answer, from the generated schema. */
export type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? (R extends { 200: infer A } ? Json<A> : R extends { 201: infer B } ? Json<B> : never)
  : never

/** Item is one element of a list answer's `items`. */
export type Item<P extends keyof paths> = Ok<P, 'get' & keyof paths[P]> extends { items: Array<infer I> } ? I : never
