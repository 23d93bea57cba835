import { sql, type SQL } from 'drizzle-orm'
import { customType, index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })

/** projects group tasks; the owner is also a member with the `owner` role. */
export const projects = pgTable('projects', {
  ...baseColumns(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  ownerId: uuid('owner_id').notNull().references(() => users.id),
  // Kept by PostgreSQL for `q` full-text search ('simple': names are not English prose).
  search: tsvector('search').generatedAlwaysAs((): SQL => sql`to_tsvector('simple', ${projects.name} || ' ' || ${projects.description})`)
}, (t) => [
  index('projects_search_idx').using('gin', t.search),
  index('projects_created_idx').on(t.createdAt, t.id)
])

/** PROJECT_ROLES are the member roles, weakest first: viewers read, editors write, owners manage members and delete. */
export const PROJECT_ROLES = ['viewer', 'editor', 'owner'] as const
/** ProjectRole is one of PROJECT_ROLES. */
export type ProjectRole = typeof PROJECT_ROLES[number]

/** projectMembers says who may see a project and with which role. */
export const projectMembers = pgTable('project_members', {
  ...baseColumns(),
  projectId: uuid('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  role: text('role', { enum: PROJECT_ROLES }).notNull()
}, (t) => [
  uniqueIndex('project_members_unique').on(t.projectId, t.userId),
  index('project_members_user_idx').on(t.userId)
])

/** ProjectRow is a stored project. */
export type ProjectRow = typeof projects.$inferSelect
/** ProjectMemberRow is a stored membership. */
export type ProjectMemberRow = typeof projectMembers.$inferSelect
