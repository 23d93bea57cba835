import type { Database } from '../../platform/db.ts'
import { newId } from '../../lib/ids.ts'
import { createInstanceRepository } from './repository.ts'
import { instanceErrors } from './errors.ts'

/** InstanceInfo is the public description of this Backplane instance. */
export interface InstanceInfo { id: string, name: string, version: string }

/** createInstanceService owns the instance identity: created once, stable across restarts and nodes. */
export function createInstanceService ({ db, version }: { db: Database, version: string }) {
  const repo = createInstanceRepository(db)
  let cached: InstanceInfo | undefined
  return {
    /** info returns the instance id, name and running version. */
    async info (): Promise<InstanceInfo> {
      if (cached) return cached
      const values = await repo.findMany(['instance.id', 'instance.name'])
      const id = values.get('instance.id')
      const name = values.get('instance.name')
      if (typeof id !== 'string' || typeof name !== 'string') throw instanceErrors.INSTANCE_NOT_SEEDED()
      cached = { id, name, version }
      return cached
    },
    /** seed creates the instance id and default name once; later runs keep what is stored. */
    async seed (): Promise<void> {
      await repo.insertIfAbsent('instance.id', newId())
      await repo.insertIfAbsent('instance.name', 'Backplane')
    }
  }
}

/** InstanceService is the instance module's service. */
export type InstanceService = ReturnType<typeof createInstanceService>
