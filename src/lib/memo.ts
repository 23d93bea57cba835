/**
 * memoize remembers the answers of a pure function of a string, for values that repeat on a hot
 * path (a connection's address, the keys of log lines). Bounded: at `max` remembered keys the
 * memory is emptied and filled again, so a stream of distinct inputs never grows it past that.
 */
export function memoize<T> (fn: (key: string) => T, max = 10_000): (key: string) => T {
  const answers = new Map<string, T>()
  return (key) => {
    let answer = answers.get(key)
    if (answer === undefined && !answers.has(key)) {
      if (answers.size >= max) answers.clear()
      answer = fn(key)
      answers.set(key, answer)
    }
    return answer as T
  }
}
