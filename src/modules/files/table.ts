import { sql } from 'drizzle-orm'
import { bigint, index, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { baseColumns } from '../../platform/columns.ts'
import { users } from '../users/index.ts'
import { projects } from '../projects/index.ts'
import { tasks } from '../tasks/index.ts'
import { agents } from '../agents/index.ts'
import { executions } from '../executions/index.ts'

/** FILE_KINDS say what a file belongs to: a project, a task, or a run (an agent's artifact). */
export const FILE_KINDS = ['project', 'task', 'artifact'] as const
/** FileKind is one of FILE_KINDS. */
export type FileKind = typeof FILE_KINDS[number]

/**
 * FILE_STATUSES: uploading → active → deleting. A row exists before its first byte is stored and
 * is removed only after its bytes are, so no stored object is ever without a row that finds it.
 */
export const FILE_STATUSES = ['uploading', 'active', 'deleting'] as const

/**
 * files are stored objects and what they belong to. The owner's column is set to null when the
 * owner is deleted (foreign keys ON DELETE SET NULL): the sweeper finds such rows, deletes their
 * bytes, then the rows. `projectId` stays on a task's or a run's file for the project's quota.
 */
export const files = pgTable('files', {
  ...baseColumns(),
  kind: text('kind', { enum: FILE_KINDS }).notNull(),
  projectId: uuid('project_id').references(() => projects.id, { onDelete: 'set null' }),
  taskId: uuid('task_id').references(() => tasks.id, { onDelete: 'set null' }),
  executionId: uuid('execution_id').references(() => executions.id, { onDelete: 'set null' }),
  status: text('status', { enum: FILE_STATUSES }).notNull().default('uploading'),
  /** name is the sanitised file name shown and offered on download; the stored key never derives from it. */
  name: text('name').notNull(),
  contentType: text('content_type').notNull(),
  size: bigint('size', { mode: 'number' }).notNull().default(0),
  /** sha256 is the hex digest computed while the upload streamed (null until it completed). */
  sha256: text('sha256'),
  storageKey: text('storage_key').notNull(),
  uploadedBy: uuid('uploaded_by').references(() => users.id, { onDelete: 'set null' }),
  agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
  /** uploadOffset is how many bytes a resumable upload has stored (null for a one-request upload); `size` is its declared length. */
  uploadOffset: bigint('upload_offset', { mode: 'number' }),
  /** uploadParts are a resumable upload's stored chunks, in order; they are deleted once assembled into `storageKey`. */
  uploadParts: text('upload_parts').array().notNull().default(sql`'{}'::text[]`),
  /** uploadPending are chunks being written now: listed before their first byte, so a crash never leaves an object without a row. */
  uploadPending: text('upload_pending').array().notNull().default(sql`'{}'::text[]`)
}, (t) => [
  index('files_project_idx').on(t.projectId, t.createdAt, t.id).where(sql`${t.kind} = 'project'`),
  index('files_task_idx').on(t.taskId, t.createdAt, t.id),
  index('files_execution_idx').on(t.executionId, t.createdAt, t.id),
  index('files_quota_idx').on(t.projectId),
  // The sweeper's work: rows not active, and rows whose owner is gone.
  index('files_pending_idx').on(t.status, t.updatedAt).where(sql`${t.status} <> 'active'`)
])

/** FileRow is a stored file's row. */
export type FileRow = typeof files.$inferSelect
