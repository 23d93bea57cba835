import { defineErrors } from '../../platform/errors.ts'

/** userErrors are the users module's error codes. */
export const userErrors = defineErrors({
  USER_NOT_FOUND: [404, 'User not found'],
  EMAIL_TAKEN: [409, 'An account with this email already exists'],
  UNKNOWN_ROLE: [400, 'Unknown role'],
  LAST_ADMIN: [409, 'This would leave no active admin'],
  CANNOT_CHANGE_SELF: [409, 'Admins cannot disable, delete or demote themselves; ask another admin']
})
