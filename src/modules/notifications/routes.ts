import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { NotificationsService } from './service.ts'
import {
  IdParams, MarkedSchema, NotificationListQuerySchema, NotificationListSchema, NotificationSchema,
  PreferencesSchema, UnreadCountSchema, UpdatePreferencesSchema
} from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const tags = ['notifications']

/** notificationsRoutes are the signed-in user's inbox and preferences: each sees and changes only their own. */
export function notificationsRoutes (notifications: NotificationsService): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get('/api/v1/notifications', {
      config: { access: 'user' },
      schema: { tags, operationId: 'listNotifications', summary: 'Your notifications, newest first (unread=true for the unread ones)', querystring: NotificationListQuerySchema, response: { 200: NotificationListSchema, ...problems } }
    }, async (request) => notifications.list(actorOf(request), request.query))

    app.get('/api/v1/notifications/unread-count', {
      config: { access: 'user' },
      schema: { tags, operationId: 'countUnreadNotifications', summary: 'How many of your notifications are unread', response: { 200: UnreadCountSchema, ...problems } }
    }, async (request) => notifications.unreadCount(actorOf(request)))

    app.post('/api/v1/notifications/read-all', {
      config: { access: 'user' },
      schema: { tags, operationId: 'markAllNotificationsRead', summary: 'Mark all your notifications read', response: { 200: MarkedSchema, ...problems } }
    }, async (request) => notifications.markAllRead(actorOf(request)))

    app.get('/api/v1/notifications/preferences', {
      config: { access: 'user' },
      schema: { tags, operationId: 'getNotificationPreferences', summary: 'Every notification type with your setting per channel', response: { 200: PreferencesSchema, ...problems } }
    }, async (request) => notifications.preferences(actorOf(request)))

    app.put('/api/v1/notifications/preferences', {
      config: { access: 'user' },
      schema: { tags, operationId: 'setNotificationPreferences', summary: 'Turn channels on or off per notification type (the inbox is always on)', body: UpdatePreferencesSchema, response: { 200: PreferencesSchema, ...problems } }
    }, async (request) => notifications.setPreferences(actorOf(request), request.body))

    app.get('/api/v1/notifications/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'getNotification', summary: 'One of your notifications', params: IdParams, response: { 200: NotificationSchema, ...problems } }
    }, async (request) => notifications.get(actorOf(request), request.params.id))

    app.post('/api/v1/notifications/:id/read', {
      config: { access: 'user' },
      schema: { tags, operationId: 'markNotificationRead', summary: 'Mark one of your notifications read', params: IdParams, response: { 200: NotificationSchema, ...problems } }
    }, async (request) => notifications.markRead(actorOf(request), request.params.id))

    app.delete('/api/v1/notifications/:id', {
      config: { access: 'user' },
      schema: { tags, operationId: 'deleteNotification', summary: 'Delete one of your notifications', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await notifications.remove(actorOf(request), request.params.id)
      return reply.code(204).send(null)
    })
  }
}
