/**
 * Backplane's public API for teams extending it: build the app with your own modules, raise
 * errors in the one problem+json shape, and read the settings type.
 * @example
 * import { buildApp, defineModule, loadConfig } from 'backplane'
 * const notes = defineModule({ name: 'notes', plugin: async (app) => { app.get('/api/v1/notes', async () => []) } })
 * const app = await buildApp(loadConfig(), { modules: [notes] })
 */
export { buildApp, type AppOverrides } from './app.ts'
export { start, type RunningServer } from './server.ts'
export { loadConfig, ConfigError, type Config } from './config.ts'
export { AppError, defineErrors, type ProblemDetails, type FieldError } from './platform/errors.ts'
export { defineModule, type BackplaneModule, type SeedContext } from './platform/modules.ts'
export { baseColumns } from './platform/columns.ts'
export type { Database } from './platform/db.ts'
// The ports a module uses; importing their types also brings their `app.*` decorators into view.
export { actorOf, authErrors, type Actor, type Access } from './platform/auth.ts'
export type { Rbac } from './platform/rbac.ts'
export type { DomainEvent, Events } from './platform/events.ts'
export { SYSTEM_CONTEXT, type AuditContext, type SecurityEvent, type SecurityEvents } from './platform/security-events.ts'
export { ProblemSchema } from './platform/problem-schema.ts'
export type { NotificationChannel, NotificationDelivery, NotificationRecipient, NotificationType } from './modules/notifications/index.ts'
