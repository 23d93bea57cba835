import fp from 'fastify-plugin'

/** Rbac is roles-to-permissions as data: modules declare permissions, roles grant them. */
export interface Rbac {
  /** define declares a module's permissions and which of them the built-in `user` role has. */
  define: (statements: Record<string, readonly string[]>, grantedToUser?: readonly string[]) => void
  /** permissionsOf returns the union of the permissions of the given roles. */
  permissionsOf: (roles: readonly string[]) => ReadonlySet<string>
  /** isPermission tells whether a permission was declared by some module. */
  isPermission: (permission: string) => boolean
  /**
   * defineRole adds a built-in role a module needs for non-human callers (the agents module's
   * `agent`): it holds exactly the listed permissions and is never assigned to a user account.
   */
  defineRole: (name: string, permissions: readonly string[]) => void
  /** moduleRoles lists the roles modules defined with defineRole. */
  moduleRoles: () => string[]
  /** permissionsOfRole lists what one role was granted, as given. */
  permissionsOfRole: (role: string) => readonly string[]
  /** roles lists the role names a user account can hold: admin, user and the custom ones. */
  roles: () => string[]
  /** all lists every declared permission. */
  all: () => string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    rbac: Rbac
  }
}

/** ADMIN_ROLE is the built-in role that holds every declared permission (and the last of which cannot be removed). */
export const ADMIN_ROLE = 'admin'

/** createRbac builds the role table: `admin` has every permission, `user` what modules grant it, custom roles from AUTH_ROLES. */
export function createRbac (customRoles: Record<string, string[]>): Rbac {
  const permissions = new Set<string>()
  const userGrants = new Set<string>()
  const cache = new Map<string, ReadonlySet<string>>()
  const moduleRoles = new Map<string, readonly string[]>()
  const grantsOf = (role: string): readonly string[] => {
    if (role === ADMIN_ROLE) return [...permissions]
    if (role === 'user') return [...userGrants]
    return moduleRoles.get(role) ?? customRoles[role] ?? []
  }
  return {
    define (statements, grantedToUser = []) {
      for (const [resource, actions] of Object.entries(statements)) {
        for (const action of actions) permissions.add(`${resource}:${action}`)
      }
      for (const p of grantedToUser) {
        if (!permissions.has(p)) throw new Error(`cannot grant undeclared permission ${p} to the user role`)
        userGrants.add(p)
      }
      cache.clear()
    },
    defineRole (name, granted) {
      if (name === ADMIN_ROLE || name === 'user' || moduleRoles.has(name)) throw new Error(`role ${name} is already defined`)
      if (name in customRoles) throw new Error(`AUTH_ROLES defines "${name}", a role Backplane itself needs; give your role another name`)
      // Permissions may be declared by modules registered later; they are checked once the app is ready.
      moduleRoles.set(name, [...granted])
      cache.clear()
    },
    permissionsOf (roles) {
      const key = [...roles].sort().join(',')
      let set = cache.get(key)
      if (!set) {
        set = new Set(roles.flatMap(grantsOf))
        cache.set(key, set)
      }
      return set
    },
    isPermission: (p) => permissions.has(p),
    moduleRoles: () => [...moduleRoles.keys()],
    permissionsOfRole: (role) => grantsOf(role),
    roles: () => [ADMIN_ROLE, 'user', ...Object.keys(customRoles)],
    all: () => [...permissions].sort()
  }
}

/** rbac decorates `app.rbac` and, once every module declared its permissions, checks AUTH_ROLES names only real ones. */
export default fp(async function rbac (app) {
  const table = createRbac(app.config.auth.customRoles)
  app.decorate('rbac', table)
  app.addHook('onReady', async () => {
    for (const role of table.moduleRoles()) {
      const unknown = table.permissionsOfRole(role).filter((p) => !table.isPermission(p))
      if (unknown.length) throw new Error(`role ${role} names undeclared permissions ${unknown.join(', ')}`)
    }
    for (const [role, perms] of Object.entries(app.config.auth.customRoles)) {
      if (role === ADMIN_ROLE || role === 'user') throw new Error(`AUTH_ROLES: "${role}" is a built-in role and cannot be redefined`)
      const unknown = perms.filter((p) => !table.isPermission(p))
      if (unknown.length) throw new Error(`AUTH_ROLES: role "${role}" names unknown permissions ${unknown.join(', ')}; known: ${table.all().join(', ')}`)
    }
  })
}, { name: 'rbac' })
