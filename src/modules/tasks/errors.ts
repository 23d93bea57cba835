import { defineErrors, platformErrors, type AppError, type FieldError } from '../../platform/errors.ts'

/** taskErrors are the tasks module's codes; a task in a project the caller cannot see is "not found", like a missing one. */
export const taskErrors = defineErrors({
  TASK_NOT_FOUND: [404, 'Task not found'],
  TASK_LIMIT: [409, 'This project holds the maximum number of tasks; delete one first'],
  // The project was deleted while the task was being created.
  TASK_PROJECT_GONE: [404, 'Project not found']
})

/** invalidFields is the 400 for input the schema let through but the task rules refuse, in the shape of a schema error. */
export function invalidFields (fields: FieldError[]): AppError {
  const first = fields[0]
  return platformErrors.VALIDATION_FAILED(first ? `${first.path} ${first.message}` : undefined, { fields })
}
