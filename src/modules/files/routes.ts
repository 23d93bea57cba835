import { Readable } from 'node:stream'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf } from '../../platform/auth.ts'
import { ProblemSchema } from '../../platform/problem-schema.ts'
import type { SecurityEvents } from '../../platform/security-events.ts'
import { fileErrors } from './errors.ts'
import { contentDisposition } from './names.ts'
import { parseRange } from './range.ts'
import type { FilesService } from './service.ts'
import { BinarySchema, FileListQuerySchema, FileListSchema, FileSchema, IdParams, LinkSchema, SignedQuerySchema } from './schemas.ts'
import type { FileRow } from './table.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const tags = ['files']
const content = { 200: BinarySchema, 206: BinarySchema, 416: ProblemSchema, ...problems }

/** filesRoutes list, describe, download and delete files; uploads are in upload-routes.ts. */
export function filesRoutes (files: FilesService, audit: SecurityEvents): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

    // The bytes as an attachment, never rendered by the browser: a stored HTML or SVG file cannot run in the API's origin.
    // HEAD (Fastify's automatic HEAD route runs this handler) gets the same headers and never opens the stored object:
    // Fastify drains a stream sent to HEAD, which would read a whole large file for nothing.
    async function send (request: FastifyRequest, reply: FastifyReply, row: FileRow) {
      const range = parseRange(request.headers.range, row.size)
      reply.header('accept-ranges', 'bytes')
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${row.size}`)
        throw fileErrors.FILE_RANGE_NOT_SATISFIABLE(`The file is ${row.size} bytes long`)
      }
      const body = request.method === 'HEAD' ? Readable.from([]) : await files.open(row, range)
      reply.headers({
        'content-type': row.contentType,
        'content-disposition': contentDisposition(row.name),
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
        'cache-control': 'private, no-store',
        'content-length': range ? range.end - range.start + 1 : row.size,
        ...(row.sha256 ? { 'x-checksum-sha256': row.sha256, etag: `"${row.sha256}"` } : {})
      })
      if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${row.size}`)
      return reply.send(body)
    }

    for (const [owner, url, operationId, summary] of [
      ['project', '/api/v1/projects/:id/files', 'listProjectFiles', 'A project\'s files, newest first'],
      ['task', '/api/v1/tasks/:id/files', 'listTaskAttachments', 'A task\'s attachments, newest first'],
      ['artifact', '/api/v1/executions/:id/artifacts', 'listExecutionArtifacts', 'The artifacts a run\'s agent uploaded, newest first']
    ] as const) {
      app.get(url, {
        config: { access: 'file:read' },
        schema: { tags, operationId, summary, params: IdParams, querystring: FileListQuerySchema, response: { 200: FileListSchema, ...problems } }
      }, async (request) => files.list(actorOf(request), { kind: owner, id: request.params.id }, request.query))
    }

    app.get('/api/v1/files/:id', {
      config: { access: 'file:read' },
      schema: { tags, operationId: 'getFile', summary: 'A file\'s name, type, size and SHA-256', params: IdParams, response: { 200: FileSchema, ...problems } }
    }, async (request) => files.get(actorOf(request), request.params.id))

    app.get('/api/v1/files/:id/content', {
      config: { access: 'file:read' },
      compress: false,
      schema: { tags, operationId: 'downloadFile', summary: 'A file\'s bytes as an attachment; `Range: bytes=…` gets part of it (206); HEAD gives the headers only', params: IdParams, response: content }
    }, async (request, reply) => send(request, reply, await files.download(actorOf(request), request.params.id, audit.contextOf(request))))

    app.post('/api/v1/files/:id/link', {
      config: { access: 'file:read' },
      schema: { tags, operationId: 'linkFile', summary: 'A short-lived download URL that needs no credentials (FILES_LINK_TTL_SECONDS)', params: IdParams, response: { 200: LinkSchema, ...problems } }
    }, async (request) => files.link(actorOf(request), request.params.id))

    app.get('/api/v1/files/:id/download', {
      config: { access: 'public' },
      compress: false,
      schema: { tags, operationId: 'downloadSignedFile', summary: 'A file\'s bytes through a signed link (403 when tampered or expired)', params: IdParams, querystring: SignedQuerySchema, response: content }
    }, async (request, reply) => send(request, reply, await files.downloadSigned(request.params.id, request.query.expires, request.query.signature)))

    app.delete('/api/v1/files/:id', {
      config: { access: 'file:write' },
      schema: { tags, operationId: 'deleteFile', summary: 'Delete a file (editors of its owner)', params: IdParams, response: { 204: { type: 'null' }, ...problems } }
    }, async (request, reply) => {
      await files.remove(actorOf(request), request.params.id, audit.contextOf(request))
      return reply.code(204).send(null)
    })
  }
}
