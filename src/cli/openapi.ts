import { Command } from 'commander'
import { loadConfig } from '../config.ts'
import { describeApi } from './describe-api.ts'

/** openapiCommand is `backplane openapi`: print the OpenAPI document without starting a server or a database. */
export function openapiCommand (): Command {
  return new Command('openapi')
    .description('print the OpenAPI 3.1 document (e.g. backplane openapi > openapi.json)')
    .action(async () => {
      process.stdout.write(JSON.stringify(await describeApi(loadConfig()), null, 2) + '\n')
    })
}
