import type { Rbac } from 'backplane'

/** defineNotePermissions declares the note actions as data; the built-in user role holds both. */
export function defineNotePermissions (rbac: Rbac): void {
  rbac.define({ note: ['read', 'write'] }, ['note:read', 'note:write'])
}
