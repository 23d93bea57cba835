// `npm run dev:all`: the API with reload (`npm run dev`, :8080) and the console with hot reload
// (`npm run dashboard:dev`, http://localhost:5173/admin/, proxying /api to :8080) in one terminal.
// Ctrl-C stops both; when either exits, the other is stopped too.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

const children: ChildProcess[] = ['dev', 'dashboard:dev'].map((script) => spawn('npm', ['run', '--silent', script], { stdio: 'inherit' }))
let stopping = false
const stop = (code: number) => {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  process.exitCode = code
}
for (const child of children) child.on('exit', (code) => stop(code ?? 0))
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(0))
