import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { jsonDepthExceeds } from './json-depth.ts'

/** depthOf is the reference: the nesting depth of a parsed JSON value (a scalar is 0). */
function depthOf (value: unknown): number {
  if (value === null || typeof value !== 'object') return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0)
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects alike', () => {
    expect(jsonDepthExceeds('1', 0)).toBe(false)
    expect(jsonDepthExceeds('"text"', 0)).toBe(false)
    expect(jsonDepthExceeds('{}', 0)).toBe(true)
    expect(jsonDepthExceeds('{}', 1)).toBe(false)
    expect(jsonDepthExceeds('[{"a":[1]}]', 2)).toBe(true)
    expect(jsonDepthExceeds('[{"a":[1]}]', 3)).toBe(false)
  })

  it('allows exactly the limit and refuses one more', () => {
    expect(jsonDepthExceeds(nested(32), 32)).toBe(false)
    expect(jsonDepthExceeds(nested(33), 32)).toBe(true)
    expect(jsonDepthExceeds(`{"a":${nested(31)}}`, 32)).toBe(false)
    expect(jsonDepthExceeds(`{"a":${nested(32)}}`, 32)).toBe(true)
  })

  it('measures the deepest branch, not the sum of siblings', () => {
    const wide = `[${Array.from({ length: 1000 }, () => nested(5)).join(',')}]`
    expect(jsonDepthExceeds(wide, 6)).toBe(false)
    expect(jsonDepthExceeds(wide, 5)).toBe(true)
  })

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(JSON.stringify({ s: '[[[[[[[[[[{{{{{{{{' }), 1)).toBe(false)
    expect(jsonDepthExceeds(JSON.stringify({ s: 'say \\"[[[[[" and "{{{{' }), 1)).toBe(false)
    expect(jsonDepthExceeds(JSON.stringify(['\\', [[]]]), 2)).toBe(true) // a string ending in a backslash closes properly
    expect(jsonDepthExceeds(JSON.stringify(['\\', [[]]]), 3)).toBe(false)
    expect(jsonDepthExceeds('["\\u005b\\u005b\\u005b"]', 1)).toBe(false)
    expect(jsonDepthExceeds(JSON.stringify({ '[[[[': { '{{{{': 1 } }), 2)).toBe(false)
  })

  it('stops early on a hostile document', () => {
    const hostile = '['.repeat(5_000_000)
    const started = performance.now()
    expect(jsonDepthExceeds(hostile, 32)).toBe(true)
    expect(performance.now() - started).toBeLessThan(250)
  })

  it('scans a large flat document in linear time', () => {
    const big = JSON.stringify(Array.from({ length: 50_000 }, (_v, i) => ({ id: i, name: `n${i}`, tags: ['a', 'b'] })))
    const started = performance.now()
    expect(jsonDepthExceeds(big, 3)).toBe(false)
    expect(jsonDepthExceeds(big, 2)).toBe(true)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('agrees with the parsed depth for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, max) => {
      const text = JSON.stringify(value)
      expect(jsonDepthExceeds(text, max)).toBe(depthOf(value) > max)
    }), { seed: 20261122, numRuns: 500 })
  })

  it('agrees with the parsed depth for strings full of quotes, backslashes and brackets', () => {
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', '\n', 'é') })
    fc.assert(fc.property(fc.array(tricky, { maxLength: 5 }), fc.integer({ min: 0, max: 4 }), (strings, extra) => {
      let value: unknown = { s: strings }
      for (let i = 0; i < extra; i++) value = [value]
      const text = JSON.stringify(value)
      expect(depthOf(value)).toBe(extra + 2)
      expect(jsonDepthExceeds(text, extra + 2)).toBe(false)
      expect(jsonDepthExceeds(text, extra + 1)).toBe(true)
    }), { seed: 20261122, numRuns: 300 })
  })
})
