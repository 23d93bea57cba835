import type { BentoCache, bentostore } from 'bentocache'

type Bento = BentoCache<{ main: ReturnType<typeof bentostore> }>
type GetOrSet = Bento['getOrSet']
type Options = Parameters<GetOrSet>[0]

/** FALLBACK_MEMO_MS is how stale a read may be while the invalidation bus is down (the README promises under 1 s). */
export const FALLBACK_MEMO_MS = 500
const MAX_MEMO = 10_000
const SKIPPED = Symbol('skipped')

/**
 * readThroughWhileUnproven makes `getOrSet` call the factory (the database) directly, remembered for
 * at most FALLBACK_MEMO_MS per key, whenever `proven()` is false: cached entries are only trusted
 * while deletes from other nodes are known to arrive. Deletes on this node also drop the memo.
 */
export function readThroughWhileUnproven (bento: Bento, proven: () => boolean): void {
  const memo = new Map<string, { until: number, value: Promise<unknown> }>()
  const getOrSet = bento.getOrSet.bind(bento) as (options: Options) => Promise<unknown>
  const fallback = (options: Options): Promise<unknown> => {
    const now = Date.now()
    const hit = memo.get(options.key)
    if (hit && hit.until > now) return hit.value
    if (memo.size >= MAX_MEMO) memo.clear()
    // The factories use `skip()` (do not cache this answer); the other context helpers tune caching, moot here.
    const ctx = { skip: () => SKIPPED, fail: (message?: string) => { throw new Error(message ?? 'cache factory failed') }, setTtl: () => {}, setTags: () => {}, setOptions: () => {}, gracedEntry: undefined }
    const factory = options.factory as unknown as (c: typeof ctx) => unknown
    const value = Promise.resolve(factory(ctx)).then((v) => {
      if (v === SKIPPED) { memo.delete(options.key); return undefined }
      return v
    })
    memo.set(options.key, { until: now + FALLBACK_MEMO_MS, value })
    value.catch(() => { memo.delete(options.key) })
    return value
  }
  ;(bento as unknown as { getOrSet: (options: Options) => Promise<unknown> }).getOrSet = (options) => proven() ? getOrSet(options) : fallback(options)
  const deleteMany = bento.deleteMany.bind(bento)
  bento.deleteMany = async (options) => {
    for (const key of options.keys) memo.delete(key)
    return deleteMany(options)
  }
  const del = bento.delete.bind(bento)
  bento.delete = async (options) => {
    memo.delete(options.key)
    return del(options)
  }
}
