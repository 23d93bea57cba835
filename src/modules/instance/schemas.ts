import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

/** InstanceSchema describes this Backplane instance publicly. */
export const InstanceSchema = Type.Object({
  id: idSchema({ description: 'Stable id of this instance, shared by all its nodes' }),
  name: Type.String({ maxLength: 200 }),
  version: Type.String({ maxLength: 50, description: 'Backplane version serving this request' })
}, { additionalProperties: false })

/** Instance is the reply of GET /api/v1/instance. */
export type Instance = Static<typeof InstanceSchema>
