import { loadConfig, start } from 'backplane'
import notes from './notes/index.ts'

// The team's server: Backplane with the team's modules, migrated (Backplane's tables, then theirs) on start.
const server = await start(loadConfig(), { modules: [notes] })
process.stdout.write(`listening on ${server.url}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { server.shutdown().then(() => process.exit(0), () => process.exit(1)) })
