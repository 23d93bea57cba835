import { Command, InvalidArgumentError } from 'commander'
import type { FastifyInstance } from 'fastify'
import type { DetectionResult } from '../tooling/frontends/types.ts'
import type { SyncEntry } from '../modules/frontends/index.ts'
import { SYSTEM_CONTEXT } from '../platform/security-events.ts'

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/** parseDepth reads `--depth`: a whole number of folders below the scanned one. */
function parseDepth (value: string): number {
  if (!/^\d{1,3}$/.test(value)) throw new InvalidArgumentError('must be a whole number of folders, e.g. 6')
  return Number(value)
}

/**
 * progressLine shows, on a terminal only, a spinner with the number of folders scanned and the one
 * being read, redrawn at most every 80 ms; piped or redirected output gets nothing, so logs stay clean.
 */
function progressLine (stream: NodeJS.WriteStream): { update: (count: number, current: string) => void, clear: () => void } {
  if (stream.isTTY !== true) return { update: () => {}, clear: () => {} }
  let last = 0
  let frame = 0
  let shown = false
  return {
    update (count, current) {
      const now = Date.now()
      if (now - last < 80) return
      last = now
      frame = (frame + 1) % SPINNER.length
      const text = `${SPINNER[frame]} Scanning… ${count} folder${count === 1 ? '' : 's'}  ${current}`
      stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns ?? 80) - 1))}`)
      shown = true
    },
    clear () {
      if (shown) stream.write('\r\x1b[2K')
    }
  }
}

interface SyncOptions { json?: boolean, depth: number, watch?: boolean, writeClients?: boolean, baseUrl?: string, force?: boolean }

/**
 * sync records a detection in the registry through a built app on the configured database (the
 * embedded one is started if needed); with --watch it keeps syncing until SIGINT/SIGTERM. The other
 * nodes hear of each change through pubsub (REDIS_URL), or within FRONTENDS_RELOAD_SECONDS.
 */
async function sync (dir: string, options: SyncOptions): Promise<void> {
  const { loadConfig } = await import('../config.ts')
  const { withApp } = await import('./app-session.ts')
  const { detectFrontends } = await import('../tooling/frontends/detect.ts')
  const { formatSync, syncChanged } = await import('../modules/frontends/report.ts')
  const config = loadConfig()
  const print = (entries: SyncEntry[], detection: DetectionResult) => {
    if (options.json === true) process.stdout.write(JSON.stringify({ root: detection.root, frontends: entries, problems: detection.problems }, null, options.watch === true ? 0 : 2) + '\n')
    else process.stdout.write(formatSync(entries, detection.root))
  }
  if (options.watch !== true) {
    // Scanned before the database starts: a wrong folder is reported at once.
    const detection = await detectFrontends(dir, { maxDepth: options.depth })
    await withApp(config, async (app) => {
      const entries = await app.frontends.sync(detection)
      print(entries, detection)
      if (options.writeClients === true) await writeClients(app, entries, detection, options.baseUrl ?? config.http.publicUrl ?? `http://localhost:${config.http.port}`, options.force === true)
    })
    return
  }
  const { watchFrontends } = await import('../modules/frontends/watch.ts')
  await withApp(config, async (app) => {
    let first = true
    const watcher = watchFrontends({
      dir,
      maxDepth: options.depth,
      sync: (detection) => app.frontends.sync(detection),
      onSynced: (entries, detection) => {
        if (first || syncChanged(entries)) print(entries, detection)
        first = false
      },
      onError: (err) => { process.stderr.write(`backplane: frontends sync failed: ${(err as Error).message}\n`) }
    })
    await watcher.ready
    process.stderr.write('Watching for frontends added, removed or moved (Ctrl+C to stop).\n')
    await new Promise((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve) })
    watcher.close()
  })
}

/**
 * writeClients writes a typed client and the Backplane settings into each app the sync kept
 * enabled. A key exists in clear only when it is made: an app registered before keeps the key an
 * earlier run wrote into it when that key is still its frontend's, and otherwise gets a new key (its
 * old one stops working), which is what is written into the app.
 */
async function writeClients (app: FastifyInstance, entries: SyncEntry[], detection: DetectionResult, baseUrl: string, force: boolean): Promise<void> {
  const { writeFrontendClients, formatWriteClients } = await import('../tooling/sdk/write-clients.ts')
  const { writtenFrontendKey } = await import('../tooling/sdk/written-key.ts')
  const keys: Record<string, string> = {}
  const targets = []
  const { resolve } = await import('node:path')
  for (const detected of detection.frontends) {
    // Sync entries carry absolute paths; detection's are relative to the scanned folder.
    const entry = entries.find((e) => e.path === resolve(detection.root, detected.path) && e.action !== 'disabled' && e.action !== 'kept-manual')
    if (entry?.id === undefined) continue
    let key = entry.apiKey
    if (key === undefined) {
      const written = await writtenFrontendKey(detected, resolve(detection.root, detected.path))
      if (written !== null && (await app.apiKeys.verify(written))?.frontendId === entry.id) key = written
    }
    if (key === undefined) {
      key = (await app.frontends.rotateKey(entry.id, { ...SYSTEM_CONTEXT, by: 'cli' })).apiKey
      process.stderr.write(`rotated the key of ${entry.name} to write it into ${detected.path}; its old key no longer works\n`)
    }
    keys[detected.name] = key
    targets.push(detected)
  }
  const result = await writeFrontendClients(targets, { root: detection.root, baseUrl, keys, document: app.swagger() as never, force })
  process.stdout.write(formatWriteClients(result))
  if (result.skipped.length > 0) process.exitCode = 1
}

/** frontendsCommand is `backplane frontends`: find the frontend apps of a workspace (detect needs no database) and record them (sync). */
export function frontendsCommand (): Command {
  const frontends = new Command('frontends').description('find the frontend apps of a workspace and record them in the registry')
  frontends.command('detect')
    .description('scan a folder for frontend apps (React, Vue, Angular, Next.js, Nuxt, Svelte, Expo, Flutter…) and print each one\'s framework, package manager and dev origins')
    .argument('[dir]', 'the workspace folder to scan', '.')
    .option('--json', 'print the result as JSON on stdout')
    .option('--depth <n>', 'how many folders deep to look', parseDepth, 6)
    .option('--apply', 'record the result in the registry, like `frontends sync` (needs the database)')
    .option('--watch', 'keep watching and update the registry when frontends are added, removed or moved (implies --apply)')
    .action(async (dir: string, options: SyncOptions & { apply?: boolean }) => {
      if (options.apply === true || options.watch === true) return await sync(dir, options)
      const { detectFrontends } = await import('../tooling/frontends/detect.ts')
      const progress = options.json === true ? null : progressLine(process.stderr)
      let result
      try {
        result = await detectFrontends(dir, { maxDepth: options.depth, onProgress: progress?.update })
      } finally {
        progress?.clear()
      }
      if (options.json === true) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n')
        return
      }
      const { formatDetection } = await import('../tooling/frontends/format.ts')
      process.stdout.write(formatDetection(result))
    })
  frontends.command('sync')
    .description('record the frontend apps of a workspace in the registry: new ones are created with a key (shown once), changed ones updated, ones no longer found disabled (never deleted)')
    .argument('[dir]', 'the workspace folder to scan', '.')
    .option('--json', 'print what the sync did as JSON on stdout')
    .option('--depth <n>', 'how many folders deep to look', parseDepth, 6)
    .option('--watch', 'keep watching and sync again when frontends are added, removed or moved')
    .option('--write-clients', 'write a typed client module and the URL and key settings into each app (an app registered before keeps the key written into it, else its key is rotated)')
    .option('--base-url <url>', 'the API URL written into the apps (default PUBLIC_URL or http://localhost:PORT)')
    .option('--force', 'with --write-clients, also replace files Backplane did not create')
    .action(async (dir: string, options: SyncOptions) => {
      if (options.writeClients === true && options.watch === true) throw new InvalidArgumentError('--write-clients runs once; drop --watch')
      await sync(dir, options)
    })
  return frontends
}
