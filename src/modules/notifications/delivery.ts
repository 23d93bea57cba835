import type { Database } from '../../platform/db.ts'
import type { Job } from '../../platform/queue-port.ts'
import type { NotificationChannel } from './channels.ts'
import type { DeliverJob } from './intake.ts'
import type { NotificationsRepository } from './repository.ts'
import { toDelivery } from './view.ts'

/**
 * createDelivery runs a delivery job: it claims its user's pending deliveries on the channel as the
 * job's batch (under the same lock the intake takes, so none is left without a job), hands them to
 * the channel, and marks them delivered. A retry of the job delivers the same batch (and any claimed
 * since), so a channel sees the same items again only when its own call failed or the marking did.
 */
export function createDelivery ({ db, repo, channels }: { db: Database, repo: NotificationsRepository, channels: ReadonlyMap<string, NotificationChannel> }) {
  return async function deliver (job: Job<DeliverJob>): Promise<void> {
    const { userId, channel: name } = job.data
    const channel = channels.get(name)
    // A channel removed since the job was sent: nothing can deliver it (its rows go with retention).
    if (!channel) return
    await db.transaction(async (tx) => {
      await repo.lock(userId, name, tx)
      await repo.claim(job.id, userId, name, tx)
    })
    const rows = await repo.batch(job.id)
    if (rows.length === 0) return
    await channel.deliver(rows.map(toDelivery))
    await repo.markDelivered(job.id, rows.map((r) => r.id))
  }
}
