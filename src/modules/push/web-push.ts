import { createRequire } from 'node:module'
import type * as WebPush from 'web-push'

let loaded: typeof WebPush | undefined

/**
 * webPush loads the web-push library (with its ASN.1, JWS and proxy-agent dependencies) on the first
 * push sent or key pair made, not at start: most nodes never send one (idle RSS, issue 13).
 */
export function webPush (): typeof WebPush {
  loaded ??= createRequire(import.meta.url)('web-push') as typeof WebPush
  return loaded
}
