// Child process: the Express 5 peer, as an Express application ships (defaults kept: ETag,
// X-Powered-By), no logging, one route answering with res.json.
import express from 'express'
import { failed, listening, readUser, ROUTE, subjectOf } from './row-read.js'

const app = express()
app.get(ROUTE, async (req, res) => {
  const sub = await subjectOf(req.headers.authorization)
  if (sub === undefined) return res.status(401).json({ error: 'unauthorized' })
  const user = await readUser(sub)
  if (!user) return res.status(404).json({ error: 'not found' })
  res.json(user)
})

try {
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err) => { if (err) reject(err); else resolve(s) })
  })
  await listening(server.address().port, () => new Promise((resolve) => { server.close(() => { resolve() }) }))
} catch (err) {
  await failed(err)
}
