import { asc, eq } from 'drizzle-orm'
import * as client from 'openid-client'
import type { SecretBox } from '../../lib/secret-box.ts'
import type { Database } from '../../platform/db.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'
import { oidcErrors } from './errors.ts'
import { GITHUB_ENDPOINTS, githubConfiguration, type GithubEndpoints } from './github-oauth.ts'
import { oidcProviders } from './table.ts'

/** OidcProviderRow is a stored provider. */
export type OidcProviderRow = typeof oidcProviders.$inferSelect

/** ProviderPreset names a known provider shape; `generic` is any OpenID Connect issuer with discovery, `github` is GitHub's plain OAuth2. */
export type ProviderPreset = 'google' | 'microsoft' | 'generic' | 'github'

const PRESETS: Record<'google' | 'microsoft', { issuer: (tenant?: string) => string, displayName: string }> = {
  google: { issuer: () => 'https://accounts.google.com', displayName: 'Google' },
  // A tenant id (or "organizations"/"common" with a tenant-independent issuer check upstream) names the directory.
  microsoft: { issuer: (tenant = 'common') => `https://login.microsoftonline.com/${tenant}/v2.0`, displayName: 'Microsoft' }
}
const CONFIG_TTL_MS = 60 * 60_000
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/

/** ProviderInput is what an admin sends to add a provider. */
export interface ProviderInput {
  slug: string
  preset: ProviderPreset
  displayName?: string
  issuer?: string
  tenant?: string
  clientId: string
  clientSecret?: string
  scopes?: string
  /** endpoints override GitHub's URLs (GitHub Enterprise Server); github.com's otherwise. */
  endpoints?: Partial<GithubEndpoints>
}

/**
 * createOidcProviders keeps the identity providers (client secrets sealed) and their discovered
 * configurations: discovery runs on first use and again after an hour or a failure. Adding and
 * removing one is audited in the same transaction.
 */
export function createOidcProviders ({ db, box, production, audit }: { db: Database, box: SecretBox, production: boolean, audit: SecurityEvents }) {
  const configs = new Map<string, { at: number, config: Promise<client.Configuration> }>()

  // Plain http is only for a provider on this machine outside production (local development and tests).
  const allowed = (url: string) => {
    if (!URL.canParse(url)) return false
    return new URL(url).protocol === 'https:' || (LOOPBACK.test(url) && !production)
  }

  async function discover (row: OidcProviderRow): Promise<client.Configuration> {
    const secret = row.clientSecretSealed ? box.open(row.clientSecretSealed) : undefined
    if (row.kind === 'github') {
      const endpoints = row.endpoints ?? GITHUB_ENDPOINTS
      return githubConfiguration(endpoints, row.clientId, secret, !production && Object.values(endpoints).every((u) => LOOPBACK.test(u)))
    }
    // Plain http only for a provider on this machine outside production (local development and tests).
    const insecure = !production && LOOPBACK.test(row.issuer)
    try {
      // openid-client trusts TLS for ID tokens from the token endpoint unless told otherwise: the
      // signature is checked against the provider's JWKS as well (non-repudiation checks).
      const execute = insecure ? [client.enableNonRepudiationChecks, client.allowInsecureRequests] : [client.enableNonRepudiationChecks]
      return await client.discovery(new URL(row.issuer), row.clientId, secret, undefined, { timeout: 10, execute })
    } catch (err) {
      throw oidcErrors.OIDC_DISCOVERY_FAILED(`Discovery at ${row.issuer} failed: ${(err as Error).message}`)
    }
  }

  // GitHub speaks plain OAuth2: no issuer to discover, so its endpoints are stored (github.com's by default).
  async function insert (values: typeof oidcProviders.$inferInsert, context: AuditContext): Promise<OidcProviderRow> {
    return db.transaction(async (tx) => {
      const [row] = await tx.insert(oidcProviders).values(values).returning()
      await audit.record(context, { action: 'identity_provider.created', outcome: 'success', targetType: 'identity-provider', targetId: row!.id, details: { slug: row!.slug, issuer: row!.issuer } }, tx)
      return row!
    })
  }

  async function createGithub (input: ProviderInput, context: AuditContext): Promise<OidcProviderRow> {
    if (!input.clientSecret) throw oidcErrors.OIDC_PROVIDER_INVALID('A GitHub OAuth app needs its client secret')
    const endpoints = { ...GITHUB_ENDPOINTS, ...input.endpoints }
    if (!Object.values(endpoints).every(allowed)) throw oidcErrors.OIDC_PROVIDER_INVALID('GitHub endpoints must be https URLs')
    return insert({
      slug: input.slug,
      kind: 'github',
      displayName: input.displayName ?? 'GitHub',
      issuer: new URL(endpoints.authorization).origin,
      clientId: input.clientId,
      clientSecretSealed: box.seal(input.clientSecret),
      scopes: input.scopes ?? 'read:user user:email',
      endpoints
    }, context)
  }

  return {
    /** create stores a provider from a preset (Google, Microsoft, GitHub) or any issuer (generic). */
    async create (input: ProviderInput, context: AuditContext): Promise<OidcProviderRow> {
      if (input.preset === 'github') return createGithub(input, context)
      if (input.endpoints) throw oidcErrors.OIDC_PROVIDER_INVALID('endpoints are for GitHub; OpenID Connect providers are read through discovery')
      if (input.scopes && !/^openid( |$)/.test(input.scopes)) throw oidcErrors.OIDC_PROVIDER_INVALID('OpenID Connect scopes start with openid')
      const preset = input.preset === 'generic' ? undefined : PRESETS[input.preset]
      const issuer = preset ? preset.issuer(input.tenant) : input.issuer
      if (!issuer) throw oidcErrors.OIDC_PROVIDER_INVALID('A generic provider needs its issuer URL')
      if (!allowed(issuer)) throw oidcErrors.OIDC_PROVIDER_INVALID('The issuer must be an https URL')
      return insert({
        slug: input.slug,
        kind: 'oidc',
        displayName: input.displayName ?? preset?.displayName ?? input.slug,
        issuer,
        clientId: input.clientId,
        clientSecretSealed: input.clientSecret ? box.seal(input.clientSecret) : null,
        scopes: input.scopes ?? 'openid email profile'
      }, context)
    },
    list: () => db.select().from(oidcProviders).orderBy(asc(oidcProviders.slug)),
    /** remove deletes a provider (and with it every account link to it); false when there is none. */
    async remove (id: string, context: AuditContext): Promise<boolean> {
      const rows = await db.transaction(async (tx) => {
        const rows = await tx.delete(oidcProviders).where(eq(oidcProviders.id, id)).returning({ id: oidcProviders.id })
        if (rows.length > 0) await audit.record(context, { action: 'identity_provider.deleted', outcome: 'success', targetType: 'identity-provider', targetId: id }, tx)
        return rows
      })
      configs.delete(id)
      return rows.length > 0
    },
    async bySlug (slug: string): Promise<OidcProviderRow> {
      const [row] = await db.select().from(oidcProviders).where(eq(oidcProviders.slug, slug))
      if (!row || !row.enabled) throw oidcErrors.OIDC_PROVIDER_NOT_FOUND()
      return row
    },
    async byId (id: string): Promise<OidcProviderRow | undefined> {
      const [row] = await db.select().from(oidcProviders).where(eq(oidcProviders.id, id))
      return row
    },
    /** configuration returns the provider's discovered client configuration (cached an hour; a failure is not cached). */
    async configuration (row: OidcProviderRow): Promise<client.Configuration> {
      const hit = configs.get(row.id)
      if (hit && Date.now() - hit.at < CONFIG_TTL_MS) return hit.config
      const config = discover(row)
      configs.set(row.id, { at: Date.now(), config })
      config.catch(() => { configs.delete(row.id) })
      return config
    }
  }
}

/** OidcProviders is the provider registry. */
export type OidcProviders = ReturnType<typeof createOidcProviders>
