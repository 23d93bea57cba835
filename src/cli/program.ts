/** The `backplane` CLI: its commands, parsed from argv (src/main.ts imports this once tracing, if any, is set up). */
import { Command } from 'commander'
import { ConfigError } from '../config.ts'
import { version } from '../lib/version.ts'
import { startCommand } from './start.ts'
import { migrateCommand } from './migrate.ts'
import { seedCommand } from './seed.ts'
import { configCommand } from './config.ts'
import { openapiCommand } from './openapi.ts'
import { createAdminCommand } from './create-admin.ts'
import { keysCommand } from './keys.ts'
import { frontendsCommand } from './frontends.ts'
import { sdkCommand } from './sdk.ts'

const program = new Command()
  .name('backplane')
  .description('One backend for every frontend of your application.')
  .version(version)
  .showHelpAfterError()

program.addCommand(startCommand(), { isDefault: true })
program.addCommand(migrateCommand())
program.addCommand(seedCommand())
program.addCommand(configCommand())
program.addCommand(openapiCommand())
program.addCommand(createAdminCommand())
program.addCommand(keysCommand())
program.addCommand(frontendsCommand())
program.addCommand(sdkCommand())

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // Settings and start-up problems are the user's to fix: one clear line, no stack trace.
  const message = err instanceof ConfigError || (err as Error).name === 'ConfigError' ? (err as Error).message : `backplane: ${(err as Error).message}`
  process.stderr.write(`${message}\n`)
  process.exitCode = 1
}
