import { useSearchParams } from 'react-router'

/**
 * Pager pages a list with the API's opaque cursors. The cursor is in the URL (`?cursor=`), so a
 * page can be shared and reloaded; the browser's Back goes to the page before.
 */
export function Pager ({ nextCursor }: { nextCursor: string | null | undefined }) {
  const [params, setParams] = useSearchParams()
  const onFirst = !params.has('cursor')
  const go = (cursor: string | null) => {
    const next = new URLSearchParams(params)
    if (cursor === null) next.delete('cursor')
    else next.set('cursor', cursor)
    setParams(next)
  }
  return (
    <nav aria-label='Pagination' className='pager'>
      <button type='button' disabled={onFirst} onClick={() => go(null)}>First page</button>
      <button type='button' disabled={nextCursor === null || nextCursor === undefined} onClick={() => { if (nextCursor) go(nextCursor) }}>Next page</button>
    </nav>
  )
}

/** useFilters reads and writes list filters in the URL; changing a filter goes back to the first page. */
export function useFilters<K extends string> (keys: readonly K[]): [Record<K, string>, (key: K, value: string) => void] {
  const [params, setParams] = useSearchParams()
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>
  const set = (key: K, value: string) => {
    const next = new URLSearchParams(params)
    if (value === '') next.delete(key)
    else next.set(key, value)
    next.delete('cursor')
    setParams(next, { replace: true })
  }
  return [values, set]
}

/** defined drops the empty filters so they are not sent as query parameters. */
export function defined<T extends Record<string, string | undefined>> (values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && v !== undefined)) as Partial<T>
}
