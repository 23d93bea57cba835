import { validate, version } from 'uuid'
import { describe, expect, it } from 'vitest'
import { newId } from './ids.ts'

describe('newId', () => {
  it('makes valid, unique UUID v7s that sort by creation time', () => {
    const ids = Array.from({ length: 20_000 }, () => newId())
    for (const id of ids.slice(0, 500)) {
      expect(validate(id)).toBe(true)
      expect(version(id)).toBe(7)
      expect(id[19]).toMatch(/[89ab]/)
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
  })

  it('carries the current time in its first 48 bits', () => {
    const before = Date.now()
    const id = newId()
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16)
    expect(ms).toBeGreaterThanOrEqual(before)
    expect(ms).toBeLessThanOrEqual(Date.now())
  })
})
