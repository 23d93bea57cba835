import { Command } from 'commander'
import { loadConfig } from '../config.ts'
import { withApp } from './app-session.ts'

/** keysCommand is `backplane keys`: manage the keys that sign access tokens. */
export function keysCommand (): Command {
  const keys = new Command('keys').description('manage the keys that sign access tokens')
  keys.command('rotate')
    .description('make a new signing key; tokens signed by the old one stay valid until they expire, so nobody is signed out')
    .action(async () => {
      const kid = await withApp(loadConfig(), async (app) => {
        const id = await app.signingKeys.rotate()
        app.securityEvents.emit({ action: 'auth.signing_key_rotated', outcome: 'success', actorType: 'system', targetType: 'signing-key', targetId: id })
        return id
      })
      process.stdout.write(`new signing key ${kid} is active; every node picks it up within a minute\n`)
    })
  return keys
}
