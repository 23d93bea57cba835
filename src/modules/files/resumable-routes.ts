import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { FilesService } from './service.ts'
import { IdParams, UploadSessionSchema, UploadStartSchema, type UploadSession } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 413: ProblemSchema }
const description = 'A resumable upload for large files: declare the name and length here (held against FILES_MAX_BYTES and the project quota at once), ' +
  'then PATCH the bytes to its `url` in chunks with `Upload-Offset` and `Content-Type: application/offset+octet-stream`; HEAD the `url` for `Upload-Offset` to resume after a dropped connection. ' +
  'An upload untouched for FILES_UPLOAD_TIMEOUT_MS (plus a margin) is deleted with its chunks.'

/** progress sets the tus-style headers a client resumes from. */
export function progress (reply: FastifyReply, session: UploadSession): UploadSession {
  reply.headers({ location: session.url, 'upload-offset': String(session.offset), 'upload-length': String(session.length), 'cache-control': 'no-store' })
  return session
}

/** resumableRoutes start resumable uploads and tell where one stands; its chunks are PATCHed through upload-routes.ts. */
export function resumableRoutes (files: FilesService): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    const response = { 201: UploadSessionSchema, ...problems }

    app.post('/api/v1/projects/:id/uploads', {
      config: { access: 'file:write' },
      schema: { tags: ['files'], operationId: 'startProjectFileUpload', summary: 'Start a resumable upload of a project file (editors)', description, params: IdParams, body: UploadStartSchema, response }
    }, async (request, reply) => reply.code(201).send(progress(reply, await files.startUpload(actorOf(request), { kind: 'project', id: request.params.id }, request.body))))

    app.post('/api/v1/tasks/:id/uploads', {
      config: { access: 'file:write' },
      schema: { tags: ['files'], operationId: 'startTaskAttachmentUpload', summary: 'Start a resumable upload of a task attachment (editors of its project)', description, params: IdParams, body: UploadStartSchema, response }
    }, async (request, reply) => reply.code(201).send(progress(reply, await files.startUpload(actorOf(request), { kind: 'task', id: request.params.id }, request.body))))

    app.post('/api/v1/executions/:id/uploads', {
      config: { access: 'agent:work' },
      schema: { tags: ['agents'], operationId: 'startExecutionArtifactUpload', summary: 'Start a resumable upload of an artifact of a run the calling agent holds', description, params: IdParams, body: UploadStartSchema, response }
    }, async (request, reply) => reply.code(201).send(progress(reply, await files.startArtifactUpload(actorOf(request), request.params.id, request.body))))

    // HEAD (Fastify's automatic HEAD route) answers the same headers without the body.
    app.get('/api/v1/uploads/:id', {
      // Users and agents both upload; the service lets only the one who started the upload see it (404 for anyone else).
      config: { access: 'authenticated' },
      schema: { tags: ['files'], operationId: 'getUpload', summary: 'Where a resumable upload stands (Upload-Offset, Upload-Length); HEAD gives the headers only', params: IdParams, response: { 200: UploadSessionSchema, ...problems } }
    }, async (request, reply) => progress(reply, await files.uploadStatus(actorOf(request), request.params.id)))
  }
}
