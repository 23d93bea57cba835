import { Type } from 'typebox'

/** ProblemSchema is the RFC 9457 problem+json body, for route response schemas and the OpenAPI document. */
export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.String(),
  code: Type.String(),
  requestId: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() })))
}, { description: 'An RFC 9457 problem details object' })
