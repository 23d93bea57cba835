import { defineErrors } from '../../platform/errors.ts'

/** executionErrors are the executions module's codes; another user's execution is "not found", like a missing one. */
export const executionErrors = defineErrors({
  EXECUTION_NOT_FOUND: [404, 'Execution not found'],
  EXECUTION_NOT_RUNNING: [409, 'This execution is no longer running on this agent; stop working on it'],
  EXECUTION_FINISHED: [409, 'This execution has already finished'],
  EXECUTION_RESULT_TOO_LARGE: [400, 'result is larger than 64 KiB'],
  IDEMPOTENCY_KEY_INVALID: [400, 'Idempotency-Key must be 1 to 200 visible ASCII characters'],
  IDEMPOTENCY_KEY_REUSED: [422, 'This Idempotency-Key was already used for another request'],
  TOO_MANY_QUEUED: [409, 'This task already has too many queued runs; wait for them or cancel some']
})
