import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Id = idSchema()
const Nullable = <T extends ReturnType<typeof idSchema>>(schema: T) => Type.Union([schema, Type.Null()])

/** FileSchema is a file as the API returns it (its bytes come from its `content` URL). */
export const FileSchema = Type.Object({
  id: Id,
  kind: Type.Union([Type.Literal('project'), Type.Literal('task'), Type.Literal('artifact')]),
  projectId: Nullable(Id),
  taskId: Nullable(Id),
  executionId: Nullable(Id),
  name: Type.String(),
  contentType: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ description: 'Hex SHA-256 of the bytes, computed as they were uploaded' }),
  uploadedBy: Nullable(Id),
  agentId: Nullable(Id),
  createdAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** FileListSchema is a page of files, newest first. */
export const FileListSchema = Type.Object({
  items: Type.Array(FileSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** FileListQuerySchema pages a list of files. */
export const FileListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

/** UploadQuerySchema names the uploaded file; the request body is its bytes and Content-Type its declared type. */
export const UploadQuerySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1024, description: 'File name; path parts, control characters and leading dots are removed, and it is cut to 255 UTF-8 bytes' })
}, { additionalProperties: false })

/** UploadStartSchema declares a resumable upload: the file's name, whole length and optional type. */
export const UploadStartSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1024, description: 'File name, sanitised as for a one-request upload' }),
  length: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The whole file\'s length in bytes; counted against FILES_MAX_BYTES and the project quota at once' }),
  contentType: Type.Optional(Type.String({ maxLength: 200, description: 'Declared media type, checked against the first bytes when the upload completes' }))
}, { additionalProperties: false })

/** UploadSessionSchema is a resumable upload's progress; `file` is set once the last byte arrived. */
export const UploadSessionSchema = Type.Object({
  id: Id,
  name: Type.String(),
  length: Type.Integer({ minimum: 0 }),
  offset: Type.Integer({ minimum: 0, description: 'Bytes stored so far: the next chunk starts here (also the Upload-Offset header)' }),
  complete: Type.Boolean(),
  url: Type.String({ description: 'Where chunks are PATCHed and progress is read (HEAD)' }),
  file: Type.Union([FileSchema, Type.Null()])
}, { additionalProperties: false })

/** ChunkHeadersSchema: a chunk says where it starts. */
export const ChunkHeadersSchema = Type.Object({
  'upload-offset': Type.String({ pattern: '^[0-9]{1,16}$', maxLength: 16, description: 'The offset this chunk starts at; must equal the upload\'s current offset' })
})

/** IdParams is the `:id` of a URL. */
export const IdParams = Type.Object({ id: Id })

/** LinkSchema is a signed, short-lived download URL that needs no credentials. */
export const LinkSchema = Type.Object({
  url: Type.String({ description: 'Path and query of the download, relative to the API\'s origin' }),
  expiresAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })

/** SignedQuerySchema is the query of a signed download link. */
export const SignedQuerySchema = Type.Object({
  expires: Type.Integer({ minimum: 0, maximum: 99_999_999_999 }),
  signature: Type.String({ minLength: 1, maxLength: 100 })
}, { additionalProperties: false })

/** BinarySchema documents a reply whose body is the file's bytes. */
export const BinarySchema = Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The file\'s bytes (or the requested range of them)' })

/** File is a file as the API returns it. */
export type File = Static<typeof FileSchema>
/** UploadSession is a resumable upload's progress. */
export type UploadSession = Static<typeof UploadSessionSchema>
/** FileListQuery is a validated list query. */
export type FileListQuery = Static<typeof FileListQuerySchema>
