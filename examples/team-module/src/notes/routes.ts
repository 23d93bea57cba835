import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { actorOf, ProblemSchema } from 'backplane'
import type { NotesService } from './service.ts'
import { CreateNoteSchema, NoteIdParams, NoteSchema } from './schemas.ts'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const tags = ['notes']

/** notesRoutes are HTTP only: schemas, the access each route declares, and a call to the service. */
export function notesRoutes (notes: NotesService): FastifyPluginAsync {
  return async (fastify) => {
    // Through the type provider, body and params are typed from their schemas: no casts.
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.post('/api/v1/notes', {
      config: { access: 'note:write' },
      schema: { tags, operationId: 'createNote', summary: 'Keep a note', body: CreateNoteSchema, response: { 201: NoteSchema, ...problems } }
    }, async (request, reply) => reply.code(201).send(await notes.create(actorOf(request), request.body)))

    app.get('/api/v1/notes/:id', {
      config: { access: 'note:read' },
      schema: { tags, operationId: 'getNote', summary: 'One of your notes', params: NoteIdParams, response: { 200: NoteSchema, ...problems } }
    }, async (request) => notes.get(actorOf(request), request.params.id))
  }
}
