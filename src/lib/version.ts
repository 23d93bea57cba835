import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string, description: string }

/** version is Backplane's package version, as shown by the CLI, the API document and `/api/v1/instance`. */
export const version = pkg.version

/** description is the one-line package description, used in the API document. */
export const description = pkg.description
