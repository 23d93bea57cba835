import { timestamp, uuid } from 'drizzle-orm/pg-core'
import { newId } from '../lib/ids.ts'

/** baseColumns are the columns every table starts with: a UUID v7 id and creation/update times (ms precision). */
export function baseColumns () {
  return {
    id: uuid('id').primaryKey().$defaultFn(newId),
    // Millisecond precision, like the JavaScript Date a row is read into: a keyset cursor built
    // from a row then compares exactly, so pages never skip rows made in the same millisecond.
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow().$onUpdate(() => new Date())
  }
}
