import { Type, type Static } from 'typebox'
import { idSchema } from '../../lib/ids.ts'

const Id = idSchema()
const DateTime = Type.String({ format: 'date-time', maxLength: 40 })
// At least one non-space character: a blank name is no name.
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })
const Description = Type.String({ maxLength: 2000 })
const Role = Type.Union([Type.Literal('viewer'), Type.Literal('editor'), Type.Literal('owner')])
const Cursor = Type.String({ maxLength: 2048, description: 'The nextCursor of the previous page' })
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 })

/** ProjectSchema is a project as a member sees it, with the caller's own role in it. */
export const ProjectSchema = Type.Object({
  id: Id,
  name: Type.String({ maxLength: 200 }),
  description: Type.String({ maxLength: 2000 }),
  ownerId: Id,
  role: Type.Union([Role, Type.Literal('admin')], { description: "The caller's membership role; `admin` when the caller sees it only through project:admin" }),
  createdAt: DateTime,
  updatedAt: DateTime
}, { additionalProperties: false })

/** CreateProjectSchema is a new project; the caller becomes its owner. */
export const CreateProjectSchema = Type.Object({
  name: Name,
  description: Type.Optional(Description)
}, { additionalProperties: false })

/** UpdateProjectSchema is what editors may change; owner, ids and times are the server's. */
export const UpdateProjectSchema = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Description)
}, { additionalProperties: false, minProperties: 1 })

/** PROJECT_SORTS are the list orders; a leading `-` is descending. */
export const PROJECT_SORTS = ['createdAt', '-createdAt', 'name', '-name'] as const
/** ProjectSort is one of PROJECT_SORTS. */
export type ProjectSort = typeof PROJECT_SORTS[number]

/** ProjectListQuerySchema filters, searches, sorts and pages the projects the caller can see. */
export const ProjectListQuerySchema = Type.Object({
  limit: Limit,
  cursor: Type.Optional(Cursor),
  sort: Type.Union([Type.Literal('createdAt'), Type.Literal('-createdAt'), Type.Literal('name'), Type.Literal('-name')], { default: '-createdAt', description: 'A leading `-` is descending' }),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Full-text search on name and description (web search syntax; the last word also matches as a prefix)' })),
  role: Type.Optional(Role),
  ownerId: Type.Optional(Id)
}, { additionalProperties: false })

/** ProjectListSchema is one page of projects. */
export const ProjectListSchema = Type.Object({
  items: Type.Array(ProjectSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** ProjectIdParams names a project in the URL. */
export const ProjectIdParams = Type.Object({ id: Id }, { additionalProperties: false })

/** MemberParams names a member of a project in the URL. */
export const MemberParams = Type.Object({ id: Id, userId: Id }, { additionalProperties: false })

/** MemberSchema is one member of a project. */
export const MemberSchema = Type.Object({
  userId: Id,
  email: Type.String({ maxLength: 254 }),
  name: Type.String({ maxLength: 200 }),
  role: Role,
  createdAt: DateTime
}, { additionalProperties: false })

/** MemberListQuerySchema pages a project's members, oldest membership first. */
export const MemberListQuerySchema = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) }, { additionalProperties: false })

/** MemberListSchema is one page of members. */
export const MemberListSchema = Type.Object({
  items: Type.Array(MemberSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

/** AddMemberSchema names the user to add, by email or by id (exactly one), and their role. */
export const AddMemberSchema = Type.Union([
  Type.Object({ email: Type.String({ format: 'email', minLength: 3, maxLength: 254 }), role: Role }, { additionalProperties: false }),
  Type.Object({ userId: Id, role: Role }, { additionalProperties: false })
])

/** UpdateMemberSchema changes a member's role. */
export const UpdateMemberSchema = Type.Object({ role: Role }, { additionalProperties: false })

/** ProjectView is the public view of a project. */
export type ProjectView = Static<typeof ProjectSchema>
/** Member is the public view of a membership. */
export type Member = Static<typeof MemberSchema>
/** ProjectListQuery is a parsed list query. */
export type ProjectListQuery = Static<typeof ProjectListQuerySchema>
/** AddMember is a parsed add-member body. */
export type AddMember = Static<typeof AddMemberSchema>
