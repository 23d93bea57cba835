import { defineErrors } from '../../platform/errors.ts'

/** projectErrors are the projects module's codes; a project the caller cannot see is "not found", like a missing one. */
export const projectErrors = defineErrors({
  PROJECT_NOT_FOUND: [404, 'Project not found'],
  PROJECT_ROLE_REQUIRED: [403, 'Your role in this project does not allow this'],
  PROJECT_LIMIT: [409, 'You own the maximum number of projects; delete one first'],
  PROJECT_MEMBER_NOT_FOUND: [404, 'This user is not a member of the project'],
  PROJECT_MEMBER_EXISTS: [409, 'This user is already a member of the project'],
  PROJECT_LAST_OWNER: [409, 'A project must keep at least one owner; make another member owner first'],
  // One message whether the account is unknown, disabled or deleted.
  PROJECT_USER_NOT_FOUND: [404, 'No active user matches']
})
