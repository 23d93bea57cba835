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
/** FileListQuery is a validated list query. */
export type FileListQuery = Static<typeof FileListQuerySchema>
