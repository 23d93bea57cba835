import type { User } from './schemas.ts'
import type { UserRow } from './table.ts'

/** toUser is the only way a stored user leaves the module: the public fields, nothing secret. */
export function toUser (row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles,
    status: row.status,
    emailVerified: row.emailVerifiedAt !== null,
    createdAt: row.createdAt.toISOString(),
    lastLoginAt: row.lastLoginAt ? row.lastLoginAt.toISOString() : null
  }
}

/** normaliseEmail is how emails are compared and stored: trimmed and lowercased. */
export function normaliseEmail (email: string): string {
  return email.trim().toLowerCase()
}
