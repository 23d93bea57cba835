import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { FilesService, Upload } from './service.ts'
import { boundedBody, type UploadBounds } from './upload-bounds.ts'
import { fileErrors } from './errors.ts'
import { progress } from './resumable-routes.ts'
import { ChunkHeadersSchema, FileSchema, IdParams, UploadQuerySchema, UploadSessionSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 413: ProblemSchema, 415: ProblemSchema }
const tags = ['files']
const description = 'The request body is the file itself (any Content-Type, streamed: not bound by the JSON body limit); ' +
  'Content-Type declares its type, checked against its first bytes. Limits: FILES_MAX_BYTES per file, FILES_PROJECT_QUOTA_BYTES per project; ' +
  'an upload is not bound by REQUEST_TIMEOUT_MS but by FILES_UPLOAD_TIMEOUT_MS, and dropped after FILES_UPLOAD_IDLE_TIMEOUT_MS without a byte.'

function uploadOf (name: string, request: FastifyRequest, bounds: UploadBounds): Upload {
  const length = request.headers['content-length']
  return {
    name,
    contentType: request.headers['content-type'],
    contentLength: length === undefined ? undefined : Number(length),
    body: boundedBody(request.raw, bounds)
  }
}

/**
 * uploadRoutes take a file as the raw request body. They live in their own encapsulated plugin:
 * here, and only here, every content type is accepted and left unread for the service to stream.
 */
export function uploadRoutes (files: FilesService, bounds: UploadBounds): FastifyPluginAsync {
  return async (fastify) => {
    fastify.removeAllContentTypeParsers()
    // Not parsed: the handler streams request.raw to storage, counting against the file limits itself.
    fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

    app.post('/api/v1/projects/:id/files', {
      config: { access: 'file:write', bodyTimeout: 'own' },
      schema: { tags, operationId: 'uploadProjectFile', summary: 'Upload a file to a project (editors)', description, params: IdParams, querystring: UploadQuerySchema, consumes: ['application/octet-stream'], response: { 201: FileSchema, ...problems } }
    }, async (request, reply) => reply.code(201).send(await files.upload(actorOf(request), { kind: 'project', id: request.params.id }, uploadOf(request.query.name, request, bounds))))

    app.post('/api/v1/tasks/:id/files', {
      config: { access: 'file:write', bodyTimeout: 'own' },
      schema: { tags, operationId: 'uploadTaskAttachment', summary: 'Attach a file to a task (editors of its project)', description, params: IdParams, querystring: UploadQuerySchema, consumes: ['application/octet-stream'], response: { 201: FileSchema, ...problems } }
    }, async (request, reply) => reply.code(201).send(await files.upload(actorOf(request), { kind: 'task', id: request.params.id }, uploadOf(request.query.name, request, bounds))))

    app.post('/api/v1/executions/:id/artifacts', {
      config: { access: 'agent:work', bodyTimeout: 'own' },
      schema: { tags: ['agents'], operationId: 'uploadExecutionArtifact', summary: 'Upload an artifact of a run the calling agent holds (logs, outputs)', description, params: IdParams, querystring: UploadQuerySchema, consumes: ['application/octet-stream'], response: { 201: FileSchema, ...problems } }
    }, async (request, reply) => reply.code(201).send(await files.uploadArtifact(actorOf(request), request.params.id, uploadOf(request.query.name, request, bounds))))

    app.patch('/api/v1/uploads/:id', {
      // Users and agents both upload; the service lets only the one who started the upload extend it (404 for anyone else).
      config: { access: 'authenticated', bodyTimeout: 'own' },
      schema: {
        tags,
        operationId: 'appendUploadChunk',
        summary: 'Append a chunk to a resumable upload at Upload-Offset (409 with the current Upload-Offset when it moved); the last chunk completes the file',
        description: 'The body is the chunk, sent with Content-Type: application/offset+octet-stream. Each chunk is bound by FILES_UPLOAD_TIMEOUT_MS and FILES_UPLOAD_IDLE_TIMEOUT_MS.',
        params: IdParams,
        headers: ChunkHeadersSchema,
        response: { 200: UploadSessionSchema, ...problems }
      }
    }, async (request, reply) => {
      if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== 'application/offset+octet-stream') throw fileErrors.FILE_CHUNK_TYPE_INVALID()
      return progress(reply, await files.appendChunk(actorOf(request), request.params.id, Number(request.headers['upload-offset']), boundedBody(request.raw, bounds)))
    })
  }
}
