import { describe, expect, it } from 'vitest'
import { memoize } from './memo.ts'

describe('memoize', () => {
  it('computes each key once, and starts over at the bound', () => {
    const calls: string[] = []
    const upper = memoize((k) => { calls.push(k); return k.toUpperCase() }, 2)
    expect([upper('a'), upper('a'), upper('b'), upper('a')]).toEqual(['A', 'A', 'B', 'A'])
    expect(calls).toEqual(['a', 'b'])
    upper('c') // the third key empties the memory first
    upper('a')
    expect(calls).toEqual(['a', 'b', 'c', 'a'])
  })
})
