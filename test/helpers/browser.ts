import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Browser } from 'playwright-core'
import { requireServices } from './services.ts'

/** chromiumPath is Debian's Chromium, unless CHROMIUM_PATH names another. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** haveChromium tells whether that browser is installed. */
export const haveChromium = existsSync(chromiumPath)
/** mustRunBrowser: CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip. */
export const mustRunBrowser = requireServices || process.env.BACKPLANE_REQUIRE_BROWSER === '1' || (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')

/**
 * CHROMIUM_ARGS run Chromium headless; the machine's network is closed, so these flags keep it from
 * dialling out (updates, sync, field trials, QUIC) and flooding refused connections.
 */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** launchChromium starts the browser with CHROMIUM_ARGS; a missing one is an error that says how to install it. */
export async function launchChromium (): Promise<Browser> {
  if (!haveChromium) throw new Error(`Chromium is missing at ${chromiumPath}: install Debian's chromium package (.ci/run does)`)
  const { chromium } = await import('playwright-core')
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, timeout: 30_000 })
}

/** closePageServers closes the page servers a browser test started (those it got as far as starting). */
export async function closePageServers (servers: Array<{ server: Server } | undefined>): Promise<void> {
  await Promise.all(servers.map((s) => s === undefined ? undefined : new Promise((resolve) => s.server.close(resolve))))
}
