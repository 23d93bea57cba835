import { Command } from 'commander'
import { loadConfig } from '../config.ts'

/** configCommand is `backplane config`: print the effective settings with secrets masked. */
export function configCommand (): Command {
  return new Command('config')
    .description('print the effective settings (secrets masked) and where each came from')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) => {
      const { effective } = loadConfig()
      if (options.json) {
        process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(effective).map(([k, v]) => [k, v.value])), null, 2) + '\n')
        return
      }
      const width = Math.max(...Object.keys(effective).map((k) => k.length))
      for (const [key, { value, from }] of Object.entries(effective)) {
        process.stdout.write(`${key.padEnd(width)}  ${value === '' ? '""' : value}${from === 'default' ? '' : `  (${from})`}\n`)
      }
    })
}
