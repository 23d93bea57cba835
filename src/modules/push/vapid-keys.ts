import type { Database } from '../../platform/db.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import { pushVapidKeys } from './table.ts'
import { webPush } from './web-push.ts'

/** VapidKeys is the deployment's VAPID key pair in the form web-push takes (base64url). */
export interface VapidKeys { publicKey: string, privateKey: string }

/**
 * createVapidKeyStore keeps the one VAPID key pair: made on first need, the private key sealed
 * with the master secret. Nodes that start at once each insert-if-absent and then read the row
 * that won, so a deployment always ends with one pair (a browser subscribed with it stays valid).
 */
export function createVapidKeyStore ({ db, box }: { db: Database, box: SecretBox }) {
  let loaded: Promise<VapidKeys> | undefined

  async function read (): Promise<VapidKeys | undefined> {
    const [row] = await db.select().from(pushVapidKeys).limit(1)
    return row && { publicKey: row.publicKey, privateKey: box.open(row.privateKeySealed) }
  }

  async function ensure (): Promise<VapidKeys> {
    const found = await read()
    if (found) return found
    const made = webPush().generateVAPIDKeys()
    await db.insert(pushVapidKeys).values({ publicKey: made.publicKey, privateKeySealed: box.seal(made.privateKey) })
      .onConflictDoNothing({ target: pushVapidKeys.slot })
    const stored = await read()
    if (!stored) throw new Error('the VAPID key pair could not be stored')
    return stored
  }

  return {
    /** keys gives the key pair, creating it the first time (a failed attempt is tried again on the next call). */
    keys (): Promise<VapidKeys> {
      loaded ??= ensure().catch((err: unknown) => { loaded = undefined; throw err })
      return loaded
    }
  }
}

/** VapidKeyStore holds the deployment's VAPID key pair. */
export type VapidKeyStore = ReturnType<typeof createVapidKeyStore>
