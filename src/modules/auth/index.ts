import fp from 'fastify-plugin'
import { createSecretBox, deriveKey } from '../../lib/secret-box.ts'
import { masterSecret } from '../../platform/master-secret.ts'
import { defineModule } from '../../platform/modules.ts'
import { bearerScheme } from './bearer.ts'
import { adminSessionRoutes } from './admin-session-routes.ts'
import { meRoutes } from './me-routes.ts'
import { emailChangeRoutes } from './email-change.ts'
import { createOneTimeTokens } from './one-time-tokens.ts'
import { authRoutes } from './routes.ts'
import { createAuthService, type AuthService } from './service.ts'
import { authNotificationTypes } from './notifications.ts'
import { createSessions, type Sessions } from './sessions.ts'
import { createSigningKeys, type SigningKeys } from './signing-keys.ts'
import { createAuthChallenges } from './auth-challenges.ts'
import { createFlowAudit } from './flow-audit.ts'
import { mfaRoutes } from './mfa-routes.ts'
import { createMfaService } from './mfa-service.ts'
import { createOidcIdentities } from './oidc-identities.ts'
import { createOidcProviders } from './oidc-providers.ts'
import { oidcRoutes } from './oidc-routes.ts'
import { createOidcService } from './oidc-service.ts'
import { passkeysRoutes } from './passkeys-routes.ts'
import { createPasskeysService } from './passkeys-service.ts'
import { JwksSchema } from './schemas.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { hashPassword } from './passwords.ts'
export { refreshTokens, sessions } from './table.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** sessions ends sessions for other modules (users: disable, role change, delete). */
    sessions: Sessions
    /** signingKeys signs and verifies access tokens (CLI: keys rotate). */
    signingKeys: SigningKeys
    /** authFlows are the sign-in flows (CLI: create-admin uses the same password rules). */
    authFlows: AuthService
  }
}

/** authModule signs people in: sessions with rotating refresh tokens, JWT access tokens, mailed-link flows. */
export default defineModule({
  name: 'auth',
  plugin: fp(async (app) => {
    const { config } = app
    // Read on first use: describing the API (`backplane openapi`) must not create DATA_DIR/secret.
    let cached: string | undefined
    const secret = () => (cached ??= masterSecret(config))
    let refreshKey: Buffer | undefined
    const keys = createSigningKeys({ db: app.db, box: createSecretBox(secret, 'signing-keys'), issuer: config.auth.issuer, ttlSeconds: config.auth.accessTtlSeconds })
    const sessions = createSessions({
      db: app.db,
      cache: app.cache,
      events: app.events,
      audit: app.securityEvents,
      limits: { idleDays: config.auth.refreshIdleDays, absoluteDays: config.auth.refreshAbsoluteDays },
      refreshKey: () => (refreshKey ??= deriveKey(secret(), 'refresh-token-chain'))
    })
    const tokens = createOneTimeTokens(app.db)
    const challenges = createAuthChallenges(app.db)
    let recoveryKey: Buffer | undefined
    const mfa = createMfaService({
      db: app.db,
      config,
      users: app.users,
      box: createSecretBox(secret, 'mfa-totp'),
      recoveryKey: () => (recoveryKey ??= deriveKey(secret(), 'mfa-recovery-codes')),
      challenges,
      events: app.events,
      audit: createFlowAudit(app.securityEvents)
    })
    const providers = createOidcProviders({ db: app.db, box: createSecretBox(secret, 'oidc-client-secrets'), production: config.production, audit: app.securityEvents })
    const flows = createAuthService({ config, users: app.users, sessions, keys, tokens, mailer: app.mailer, events: app.securityEvents, secondFactor: mfa })
    app.decorate('sessions', sessions)
    app.notifications.declare(...authNotificationTypes())
    // users owns the port, auth (the higher module) plugs its sessions in: disabling, demoting or deleting a user ends them.
    app.users.endSessionsWith(async (userId, reason) => { await sessions.revokeAllForUser(userId, reason) })
    app.decorate('signingKeys', keys)
    app.decorate('authFlows', flows)
    app.auth.addScheme(bearerScheme({ keys, sessions, users: app.users, rbac: app.rbac, audiences: (request) => [config.auth.audience, ...app.frontendContext.audiences(request)], events: app.securityEvents }))

    app.get('/.well-known/jwks.json', {
      config: { rateLimit: false },
      schema: { tags: ['auth'], operationId: 'jwks', summary: 'Public keys that verify access tokens', response: { 200: JwksSchema } }
    }, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300')
      return keys.jwks()
    })
    await app.register(authRoutes(flows, app.users))
    await app.register(meRoutes(flows, sessions, config.auth.stepUpSeconds))
    await app.register(adminSessionRoutes(sessions, app.users))
    await app.register(mfaRoutes(mfa, flows, config.auth.stepUpSeconds))
    const identities = createOidcIdentities(app.db)
    const oidc = createOidcService({
      db: app.db,
      config,
      providers,
      identities,
      challenges,
      users: app.users,
      box: createSecretBox(secret, 'oidc-flows'),
      events: app.events,
      audit: createFlowAudit(app.securityEvents),
      allowsOrigin: (origin) => app.corsOrigins.allows(origin),
      auth: flows,
      mfa
    })
    await app.register(oidcRoutes(oidc, providers, config.auth.audience, config.auth.stepUpSeconds))
    const passkeys = createPasskeysService({
      db: app.db,
      config,
      users: app.users,
      challenges,
      identities,
      events: app.events,
      audit: createFlowAudit(app.securityEvents),
      origins: () => app.corsOrigins.list(),
      auth: flows
    })
    await app.register(passkeysRoutes(passkeys, config.auth.audience, config.auth.stepUpSeconds))
    await app.register(emailChangeRoutes({ config, users: app.users, tokens, mailer: app.mailer, events: app.securityEvents, checkCurrentPassword: flows.checkCurrentPassword }))
  }, { name: 'auth-module', dependencies: ['auth', 'users', 'cache', 'mailer', 'events', 'security-events', 'frontend-context', 'cors-origins', 'notifications'] })
})
