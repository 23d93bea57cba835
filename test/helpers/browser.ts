import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { Browser, Page } from 'playwright-core'
import type { TestApp } from './app.ts'
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

/** openPage opens the origin's front page in a fresh browser context (15 s for each step on it). */
export async function openPage (browser: Browser | undefined, origin: string): Promise<Page> {
  if (browser === undefined) throw new Error('no browser')
  const page = await (await browser.newContext()).newPage()
  page.setDefaultTimeout(15_000)
  await page.goto(`${origin}/`)
  return page
}

/** closeBrowserTest stops what a browser test started, whatever it got as far as starting: the browser, the app, the page servers, the workspace folder. */
export async function closeBrowserTest (started: { browser?: Browser, app?: TestApp, servers: Array<{ server: Server } | undefined>, workspace?: string }): Promise<void> {
  await started.browser?.close().catch(() => {})
  await started.app?.close()
  await Promise.all(started.servers.map((s) => s === undefined ? undefined : new Promise((resolve) => s.server.close(resolve))))
  if (started.workspace !== undefined) await rm(started.workspace, { recursive: true, force: true })
}
