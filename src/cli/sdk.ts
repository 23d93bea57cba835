import { join } from 'node:path'
import { Command } from 'commander'

/**
 * sdkCommand is `backplane sdk`: generate the typed TypeScript client (openapi-typescript types and an
 * openapi-fetch client) from a running server's OpenAPI document, or from this app's own routes.
 */
export function sdkCommand (): Command {
  return new Command('sdk')
    .description('generate the typed TypeScript client (schema.d.ts + client.ts) from the OpenAPI document')
    .option('--out <dir>', 'the folder to write into', 'sdk/generated')
    .option('--url <url>', 'read /openapi.json from this running Backplane instead of building the document here')
    .option('--force', 'replace files in the folder that Backplane did not create')
    .action(async (options: { out: string, url?: string, force?: boolean }) => {
      const { asOpenApiDocument, fetchOpenApiDocument } = await import('../tooling/sdk/document.ts')
      let document
      if (options.url === undefined) {
        const { loadConfig } = await import('../config.ts')
        const { describeApi } = await import('./describe-api.ts')
        document = asOpenApiDocument(await describeApi(loadConfig()), 'the app')
      } else {
        document = await fetchOpenApiDocument(options.url)
      }
      const { writeSdk } = await import('../tooling/sdk/generate.ts')
      const report = await writeSdk({ document, outDir: options.out, force: options.force === true })
      const lines = [
        ...report.written.map((f) => `wrote     ${f}`),
        ...report.unchanged.map((f) => `unchanged ${f}`),
        ...report.skipped.map((s) => `skipped   ${s.file}: ${s.reason}`)
      ]
      lines.push(`${report.operations} operations typed; createBackplaneClient is in ${join(options.out, 'client.ts')}`)
      process.stdout.write(lines.join('\n') + '\n')
      if (report.skipped.length > 0) process.exitCode = 1
    })
}
