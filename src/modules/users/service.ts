import { sql } from 'drizzle-orm'
import type { Cache } from '../../platform/cache.ts'
import type { Database } from '../../platform/db.ts'
import type { DomainEvent, Events } from '../../platform/events.ts'
import { ADMIN_ROLE, type Rbac } from '../../platform/rbac.ts'
import type { AuditContext, SecurityEvent, SecurityEvents } from '../../platform/security-events.ts'
import type { CursorCodec } from '../../lib/cursor.ts'
import { createUsersRepository } from './repository.ts'
import { userErrors } from './errors.ts'
import type { UserRow } from './table.ts'
import { normaliseEmail, toUser } from './view.ts'
import type { User } from './schemas.ts'
import { isUniqueViolation } from '../../lib/sql-state.ts'

/** Principal is what an access check needs to know about a user, cached per node and invalidated on change. */
export interface Principal { status: UserRow['status'], roles: string[] }

interface UsersDeps {
  db: Database
  cache: Cache
  rbac: Rbac
  events: Events
  audit: SecurityEvents
  cursors: CursorCodec
}

/** SessionRevoker ends every session of a user; the auth module (registered after users) registers it with `endSessionsWith`. */
export type SessionRevoker = (userId: string, reason: string) => Promise<void>

/** Audited is the audit trail of a change, written in the change's transaction: who asked, and what it did (from the changed row). */
export interface Audited {
  context: AuditContext
  events: (row: UserRow) => SecurityEvent[]
  /** also runs in the change's transaction after it (queue the mail the change causes there: sent if and only if it commits). */
  also?: (row: UserRow, tx: Database) => Promise<void>
}

/**
 * Registration is what a self-registration found in its transaction: the account it created, or
 * the live account that already holds the address (`user` undefined only when a concurrent
 * registration took the address between the lookup and the INSERT).
 */
export type Registration = { created: true, user: UserRow } | { created: false, user: UserRow | undefined }

/** createUsersService holds the account rules: unique emails, valid roles, never losing the last admin. */
export function createUsersService ({ db, cache, rbac, events, audit, cursors }: UsersDeps) {
  const repo = createUsersRepository(db)
  // The port the higher auth module plugs into: users never reaches for it. Without it no session exists to end.
  let sessionRevoker: SessionRevoker | undefined
  const revokeSessions = async (id: string, reason: string) => { await sessionRevoker?.(id, reason) }
  // A user's own channel and the admins' see account changes (never the email or the hash).
  const userEvent = (type: string, row: UserRow): DomainEvent => ({
    type,
    aggregate: `user:${row.id}`,
    channels: [`user:${row.id}`, 'admin'],
    data: { id: row.id, name: row.name, roles: row.roles, status: row.status }
  })
  // guardAdmins: the change takes an active admin away, so it is made only if another one remains.
  // The count and the write share a transaction under one lock: two admins demoting each other at
  // the same moment each counted two admins and both succeeded, leaving none.
  // The audit rows of the change are written in its transaction too (`audited`: what it did, for whom).
  const updateWithEvent = async (id: string, values: Partial<UserRow>, type: (row: UserRow) => string, guardAdmins = false, audited?: Audited) => db.transaction(async (tx) => {
    if (guardAdmins) {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended('backplane:active-admins', 0))`)
      if ((await repo.countActiveAdmins(tx)) <= 1) throw userErrors.LAST_ADMIN()
    }
    const row = await repo.update(id, values, tx)
    if (row) {
      await events.record(userEvent(type(row), row), tx)
      if (audited) for (const event of audited.events(row)) await audit.record(audited.context, event, tx)
      if (audited?.also) await audited.also(row, tx)
    }
    return row
  })
  const principalKey = (id: string) => `principal:${id}`

  async function invalidate (id: string): Promise<void> {
    await cache.delete({ key: principalKey(id) })
  }

  function checkRoles (roles: readonly string[]): void {
    const known = new Set(rbac.roles())
    const unknown = roles.filter((r) => !known.has(r))
    if (unknown.length) throw userErrors.UNKNOWN_ROLE(`Unknown role ${unknown.join(', ')}; roles are ${[...known].join(', ')}`)
  }

  return {
    repo,
    /** principal returns a user's status and roles through the cache (one DB read per node per 30 s at most). */
    async principal (id: string): Promise<Principal | undefined> {
      const value = await cache.getOrSet({
        key: principalKey(id),
        ttl: '30s',
        factory: async () => {
          const row = await repo.findById(id)
          return row ? { status: row.status, roles: row.roles } : null
        }
      })
      return value ?? undefined
    },
    async get (id: string): Promise<User> {
      const row = await repo.findById(id)
      if (!row || row.deletedAt) throw userErrors.USER_NOT_FOUND()
      return toUser(row)
    },
    /** findActive returns the active account with this id or email; unknown, disabled and deleted accounts give undefined. */
    async findActive (ref: { id: string } | { email: string }): Promise<User | undefined> {
      const row = 'id' in ref ? await repo.findById(ref.id) : await repo.findLiveByEmail(normaliseEmail(ref.email))
      return row && row.status === 'active' && !row.deletedAt ? toUser(row) : undefined
    },
    /** profiles returns the public view of the accounts with these ids, any status, for lists that name people. */
    profiles: async (ids: readonly string[]): Promise<User[]> => (await repo.findByIds(ids)).map(toUser),
    /** findForLogin returns the live account with this email, hash included, for the auth module only. */
    findForLogin: async (email: string) => repo.findLiveByEmail(normaliseEmail(email)),
    /**
     * create inserts an account (the password hash is computed by the caller) and, in the same
     * transaction, the caller's audit event for it and `also` (the mail it causes).
     */
    async create (input: { email: string, name?: string, passwordHash: string | null, roles?: string[], emailVerified?: boolean }, audited?: { context: AuditContext, event: (row: UserRow) => SecurityEvent, also?: (row: UserRow, tx: Database) => Promise<void> }): Promise<UserRow> {
      const roles = input.roles ?? ['user']
      checkRoles(roles)
      try {
        return await db.transaction(async (tx) => {
          const row = await repo.insert({
            email: normaliseEmail(input.email),
            name: input.name ?? '',
            passwordHash: input.passwordHash,
            roles,
            emailVerifiedAt: input.emailVerified ? new Date() : null
          }, tx)
          await events.record(userEvent('user.created', row), tx)
          if (audited) await audit.record(audited.context, audited.event(row), tx)
          if (audited?.also) await audited.also(row, tx)
          return row
        })
      } catch (err) {
        if (isUniqueViolation(err)) throw userErrors.EMAIL_TAKEN()
        throw err
      }
    },
    /**
     * register creates a self-registered account unless the address is taken, and then creates
     * nothing. Both cases do the same work in one transaction, so the time a registration takes
     * does not tell whether the address has an account (AU-12): the same lookup, the same INSERT
     * (ON CONFLICT DO NOTHING), one domain event (`user.created` for the new account,
     * `user.registration_attempted` on the owner's own channel for a taken address), then `within`
     * (the caller's audit row, one-time token and mail) in the same transaction.
     */
    async register (input: { email: string, name?: string, passwordHash: string, emailVerified: boolean }, within: (registration: Registration, tx: Database) => Promise<void>): Promise<Registration> {
      const email = normaliseEmail(input.email)
      return db.transaction(async (tx) => {
        // A commit that wrote rows waits for the WAL flush; one that wrote fewer may not, which alone
        // told the cases apart. Not waiting for it in either case makes them alike; a crash in the
        // next fraction of a second can lose the new account and its mail together, and its owner
        // registers again.
        await tx.execute(sql`SET LOCAL synchronous_commit TO OFF`)
        const existing = await repo.findLiveByEmail(email, tx)
        const row = await repo.insertIfFree({ email, name: input.name ?? '', passwordHash: input.passwordHash, roles: ['user'], emailVerifiedAt: input.emailVerified ? new Date() : null }, tx)
        const registration: Registration = row ? { created: true, user: row } : { created: false, user: existing }
        if (row) await events.record(userEvent('user.created', row), tx)
        else if (existing) await events.record({ ...userEvent('user.registration_attempted', existing), channels: [`user:${existing.id}`] }, tx)
        await within(registration, tx)
        return registration
      })
    },
    async updateMe (id: string, changes: { name?: string }): Promise<User> {
      const row = await updateWithEvent(id, changes, () => 'user.updated')
      if (!row || row.deletedAt) throw userErrors.USER_NOT_FOUND()
      return toUser(row)
    },
    /**
     * setPasswordHash stores a new hash and clears the failed-login counter; a new password (not a
     * re-hash of the same one at login) records `user.password_changed`.
     */
    async setPasswordHash (id: string, passwordHash: string, { rehash = false, audited }: { rehash?: boolean, audited?: Audited } = {}): Promise<void> {
      const values = { passwordHash, failedLogins: 0, lockedUntil: null }
      if (rehash) await repo.update(id, values)
      else await updateWithEvent(id, values, () => 'user.password_changed', false, audited)
    },
    /** changeEmail moves an account to a confirmed new address (409 if it was taken meanwhile). */
    async changeEmail (id: string, email: string, audited?: Audited): Promise<void> {
      try {
        await updateWithEvent(id, { email: normaliseEmail(email), emailVerifiedAt: new Date() }, () => 'user.email_changed', false, audited)
      } catch (err) {
        if (isUniqueViolation(err)) throw userErrors.EMAIL_TAKEN()
        throw err
      }
    },
    /** markEmailVerified confirms the account's address (`user.email_verified` the first time). */
    async markEmailVerified (id: string, audited?: Audited): Promise<void> {
      const row = await repo.findById(id)
      if (!row || row.emailVerifiedAt !== null) return
      await updateWithEvent(id, { emailVerifiedAt: new Date() }, () => 'user.email_verified', false, audited)
    },
    /** recordLogin notes a successful sign-in: the failed-login counter and any lock are cleared. */
    async recordLogin (id: string): Promise<void> {
      await repo.update(id, { failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() })
    },
    /** clearFailedLogins forgets counted failures (a right password that still may not sign in). */
    async clearFailedLogins (id: string): Promise<void> {
      await repo.update(id, { failedLogins: 0, lockedUntil: null })
    },
    /** addFailedLogin counts one failed sign-in atomically, locking the account for `lockMs` at `lockAfter`; returns the count. */
    addFailedLogin: (id: string, lockAfter: number, lockMs: number): Promise<number> => repo.addFailedLogin(id, lockAfter, new Date(Date.now() + lockMs)),
    async list (query: { q?: string, role?: string, status?: UserRow['status'], limit: number, cursor?: string }) {
      // Signed: the id and time a query receives are ones the server wrote (an edited one was a 500 once).
      const cursor = cursors.after('users', query.cursor)
      return cursors.pageOf('users', await repo.list({ ...query, cursor }), query.limit, toUser)
    },
    /** adminUpdate changes roles, status or name, audited as `context`; access changes end the user's sessions at once. */
    async adminUpdate (context: AuditContext, id: string, changes: { name?: string, roles?: string[], status?: 'active' | 'disabled' }) {
      const actorId = context.actorId
      const before = await repo.findById(id)
      if (!before || before.deletedAt) throw userErrors.USER_NOT_FOUND()
      if (changes.roles) checkRoles(changes.roles)
      const losesAdmin = before.roles.includes(ADMIN_ROLE) && before.status === 'active' &&
        ((changes.roles && !changes.roles.includes(ADMIN_ROLE)) || changes.status === 'disabled')
      if (losesAdmin && id === actorId) throw userErrors.CANNOT_CHANGE_SELF()
      const rolesChanged = changes.roles !== undefined && changes.roles.join() !== before.roles.join()
      const disabled = changes.status === 'disabled' && before.status !== 'disabled'
      const enabled = changes.status === 'active' && before.status === 'disabled'
      const audited = (row: UserRow): SecurityEvent[] => {
        const event = (action: string, details: Record<string, unknown>): SecurityEvent => ({ action, outcome: 'success', targetType: 'user', targetId: id, details })
        return [
          ...(rolesChanged ? [event('user.roles_changed', { from: before.roles, to: row.roles })] : []),
          ...(changes.status && before.status !== row.status ? [event(row.status === 'disabled' ? 'user.disabled' : 'user.enabled', {})] : []),
          ...(changes.name !== undefined && before.name !== row.name ? [event('user.updated', { fields: ['name'] })] : [])
        ]
      }
      const row = await updateWithEvent(id, changes, () => disabled ? 'user.disabled' : enabled ? 'user.enabled' : rolesChanged ? 'user.roles_changed' : 'user.updated', Boolean(losesAdmin), { context, events: audited })
      await invalidate(id)
      if (disabled) await revokeSessions(id, 'user disabled')
      else if (rolesChanged) await revokeSessions(id, 'roles changed')
      return { before: toUser(before), after: toUser(row!) }
    },
    /** softDelete marks the account deleted (email freed, id kept for the audit trail), audited as `context`, and ends its sessions. */
    async softDelete (context: AuditContext, id: string): Promise<User> {
      const before = await repo.findById(id)
      if (!before || before.deletedAt) throw userErrors.USER_NOT_FOUND()
      if (id === context.actorId) throw userErrors.CANNOT_CHANGE_SELF()
      const losesAdmin = before.roles.includes(ADMIN_ROLE) && before.status === 'active'
      const deleted: SecurityEvent = { action: 'user.deleted', outcome: 'success', targetType: 'user', targetId: id }
      const row = await updateWithEvent(id, { status: 'deleted', deletedAt: new Date(), passwordHash: null }, () => 'user.deleted', losesAdmin, { context, events: () => [deleted] })
      await invalidate(id)
      await revokeSessions(id, 'user deleted')
      return toUser(row!)
    },
    countActiveAdmins: () => repo.countActiveAdmins(),
    /** endSessionsWith registers the one session revoker (the auth module's) that disabling, demoting and deleting call. */
    endSessionsWith (revoker: SessionRevoker): void {
      if (sessionRevoker) throw new Error('a session revoker is already registered')
      sessionRevoker = revoker
    }
  }
}

/** UsersService is the users module's service. */
export type UsersService = ReturnType<typeof createUsersService>
