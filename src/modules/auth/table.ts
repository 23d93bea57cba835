import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'

/** sessions are sign-ins: one per login, the family every refresh token of that login belongs to. */
export const sessions = pgTable('sessions', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  userAgent: text('user_agent'),
  ip: text('ip'),
  audience: text('audience').notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  revokedReason: text('revoked_reason'),
  /** authenticatedAt is when the user last proved who they are in this session (sign-in or re-authentication): the access token's auth_time. */
  authenticatedAt: timestamp('authenticated_at', { withTimezone: true }).notNull().defaultNow(),
  /** method is how the session was signed in: password, password+totp, recovery_code, oidc:<provider>, passkey. */
  method: text('method').notNull().default('password')
}, (t) => [index('sessions_user_idx').on(t.userId, t.revokedAt)])

/** refreshTokens are the rotating refresh tokens of a session, stored as SHA-256 hashes only. */
export const refreshTokens = pgTable('refresh_tokens', {
  ...baseColumns(),
  sessionId: uuid('session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull(),
  parentId: uuid('parent_id'),
  rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  replacedById: uuid('replaced_by_id')
}, (t) => [
  uniqueIndex('refresh_tokens_hash_unique').on(t.tokenHash), index('refresh_tokens_session_idx').on(t.sessionId),
  // Each sign-in and each rotation is a row with its time: the admin analytics count active users per day from it.
  index('refresh_tokens_created_idx').on(t.createdAt)
])

/** signingKeys are the Ed25519 keys access tokens are signed with; private halves sealed under BACKPLANE_SECRET. */
export const signingKeys = pgTable('signing_keys', {
  ...baseColumns(),
  kid: text('kid').notNull(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateKeySealed: text('private_key_sealed').notNull(),
  status: text('status', { enum: ['active', 'retired'] }).notNull(),
  retiredAt: timestamp('retired_at', { withTimezone: true })
}, (t) => [
  uniqueIndex('signing_keys_kid_unique').on(t.kid),
  // At most one active key, whatever several nodes do at once.
  uniqueIndex('signing_keys_one_active').on(t.status).where(sql`${t.status} = 'active'`)
])

/** oneTimeTokens are single-use, expiring, hashed tokens: email verification, password reset, invitations. */
export const oneTimeTokens = pgTable('one_time_tokens', {
  ...baseColumns(),
  purpose: text('purpose', { enum: ['verify_email', 'reset_password', 'invite', 'change_email'] }).notNull(),
  tokenHash: text('token_hash').notNull(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  email: text('email'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true })
}, (t) => [
  uniqueIndex('one_time_tokens_hash_unique').on(t.tokenHash),
  // A new token revokes its user's older ones of the same purpose: one index probe, not a scan of every token.
  index('one_time_tokens_user_purpose').on(t.userId, t.purpose),
  // A reset token is spent only while no newer one names its address: one index probe as well.
  index('one_time_tokens_email_purpose').on(t.email, t.purpose),
  // Old rows are deleted by age (one-time-tokens.ts prune).
  index('one_time_tokens_created').on(t.createdAt)
])

/** mfaFactors are users' TOTP authenticators: the secret sealed under BACKPLANE_SECRET, the last time step used (replay guard). */
export const mfaFactors = pgTable('mfa_factors', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  secretSealed: text('secret_sealed').notNull(),
  confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  lastStep: integer('last_step')
}, (t) => [uniqueIndex('mfa_factors_user_unique').on(t.userId)])

/** mfaRecoveryCodes are single-use recovery codes, stored as keyed hashes only. */
export const mfaRecoveryCodes = pgTable('mfa_recovery_codes', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  usedAt: timestamp('used_at', { withTimezone: true })
}, (t) => [uniqueIndex('mfa_recovery_codes_unique').on(t.userId, t.codeHash)])

/**
 * authChallenges are the short-lived, single-use steps between sign-in requests: the MFA challenge
 * after a right password, forced enrolment, OIDC state, identity-link confirmation, WebAuthn challenges.
 */
export const authChallenges = pgTable('auth_challenges', {
  ...baseColumns(),
  purpose: text('purpose', { enum: ['second_factor', 'enrolment', 'oidc', 'oidc_sign_in', 'link_identity', 'passkey_register', 'passkey_login'] }).notNull(),
  tokenHash: text('token_hash').notNull(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  audience: text('audience'),
  data: jsonb('data').notNull().default({}),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true })
}, (t) => [uniqueIndex('auth_challenges_hash_unique').on(t.tokenHash), index('auth_challenges_expiry_idx').on(t.expiresAt)])

/** oidcProviders are the OpenID Connect (and GitHub OAuth2) providers users may sign in with; client secrets sealed. */
export const oidcProviders = pgTable('oidc_providers', {
  ...baseColumns(),
  slug: text('slug').notNull(),
  kind: text('kind', { enum: ['oidc', 'github'] }).notNull(),
  displayName: text('display_name').notNull(),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  clientSecretSealed: text('client_secret_sealed'),
  scopes: text('scopes').notNull(),
  /** endpoints are a GitHub provider's OAuth2 and API URLs (GitHub has no discovery); null for OpenID Connect. */
  endpoints: jsonb('endpoints').$type<{ authorization: string, token: string, user: string }>(),
  enabled: boolean('enabled').notNull().default(true)
}, (t) => [uniqueIndex('oidc_providers_slug_unique').on(t.slug)])

/** userIdentities link an account to a provider's subject. */
export const userIdentities = pgTable('user_identities', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  providerId: uuid('provider_id').notNull().references(() => oidcProviders.id, { onDelete: 'cascade' }),
  subject: text('subject').notNull(),
  email: text('email'),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true })
}, (t) => [uniqueIndex('user_identities_subject_unique').on(t.providerId, t.subject), index('user_identities_user_idx').on(t.userId)])

/** passkeys are users' WebAuthn credentials (public keys and signature counters). */
export const passkeys = pgTable('passkeys', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  credentialId: text('credential_id').notNull(),
  publicKey: text('public_key').notNull(),
  counter: integer('counter').notNull().default(0),
  transports: jsonb('transports').notNull().default([]),
  name: text('name').notNull(),
  backedUp: boolean('backed_up').notNull().default(false),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true })
}, (t) => [uniqueIndex('passkeys_credential_unique').on(t.credentialId), index('passkeys_user_idx').on(t.userId)])
