import { defineErrors } from '../../platform/errors.ts'

/** fileErrors are the files module's codes; a file the caller cannot see is "not found", like a missing one. */
export const fileErrors = defineErrors({
  FILE_NOT_FOUND: [404, 'File not found'],
  FILE_TOO_LARGE: [413, 'The file is larger than the largest upload allowed'],
  FILE_QUOTA_EXCEEDED: [413, 'The project has no room left for this file; delete files first'],
  FILE_TYPE_MISMATCH: [415, 'The bytes do not match the declared Content-Type'],
  FILE_TYPE_INVALID: [400, 'Content-Type is not a media type'],
  FILE_NAME_INVALID: [400, 'The file name is empty once path parts, control characters and leading dots are removed'],
  FILE_RANGE_NOT_SATISFIABLE: [416, 'The requested range lies outside the file'],
  FILE_LINK_INVALID: [403, 'This download link is not valid'],
  FILE_LINK_EXPIRED: [403, 'This download link has expired; ask for a new one'],
  FILE_RUN_NOT_HELD: [409, 'This execution is not running on your agent; artifacts are uploaded while the run is held'],
  FILE_UPLOAD_INCOMPLETE: [400, 'The upload ended before the whole body arrived'],
  FILE_UPLOAD_OFFSET_MISMATCH: [409, 'The chunk was not sent from the upload\'s current offset; HEAD the upload for Upload-Offset and resume from there'],
  FILE_CHUNK_TYPE_INVALID: [415, 'A chunk is sent with Content-Type: application/offset+octet-stream']
})
