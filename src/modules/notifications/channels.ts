/** One notification as a delivery channel receives it (after the inbox row committed). */
export interface NotificationDelivery {
  /** id is the notification's id (uuid v7). */
  id: string
  userId: string
  /** type is the declared type, e.g. 'execution.failed'. */
  type: string
  title: string
  body: string
  /** link is a path in the app, e.g. '/projects/<id>/executions/<id>'. */
  link: string | null
  /** createdAt is ISO 8601. */
  createdAt: string
}

/** A delivery channel other than the inbox itself (email is built in; push plugs in). */
export interface NotificationChannel {
  /** name is 'email' | 'push' | a team module's; preferences name channels by it. */
  name: string
  /**
   * deliver is called from a queue job, after commit, with the notifications this channel must send
   * (preferences already applied); it throws to have the job retried.
   */
  deliver: (items: readonly NotificationDelivery[]) => Promise<void>
}

/** IN_APP is the inbox and its realtime event: always on, not a channel preferences can turn off. */
export const IN_APP = 'in_app'

/** CHANNEL_NAME is what a channel may be called (it is stored and named in preferences). */
export const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/
