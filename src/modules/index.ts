import type { BackplaneModule } from '../platform/modules.ts'
import instance from './instance/index.ts'
import audit from './audit/index.ts'
import users from './users/index.ts'
import notifications from './notifications/index.ts'
import auth from './auth/index.ts'
import apiKeys from './api-keys/index.ts'
import frontends from './frontends/index.ts'
import projects from './projects/index.ts'
import agents from './agents/index.ts'
import tasks from './tasks/index.ts'
import executions from './executions/index.ts'
import files from './files/index.ts'
import push from './push/index.ts'
import admin from './admin/index.ts'
import analytics from './analytics/index.ts'
import webhooks from './webhooks/index.ts'
import realtime from './realtime/index.ts'
import demo from './demo/index.ts'

/**
 * builtinModules is the ordered list of Backplane's own modules; team modules are appended after them.
 * It is a true order: a module uses only the modules before it (its plugin `dependencies`); where a
 * lower module must call a higher one, the lower one owns a small port the higher one registers on
 * (users.endSessionsWith, agents.guardRemoval/onRemoving). order.test.ts enforces it.
 */
export const builtinModules: readonly BackplaneModule[] = [instance, audit, users, notifications, auth, apiKeys, frontends, projects, agents, tasks, executions, files, push, admin, analytics, webhooks, realtime, demo]
