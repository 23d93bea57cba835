import { getHeapSpaceStatistics } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { releaseStartupMemory } from './startup-memory.ts'

function newSpaceMb (): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size / 1048576
}

describe('releaseStartupMemory', () => {
  it('shrinks the young generation that start-up grew, without exposing gc to anyone else', () => {
    // Start-up in small: many short-lived objects with some survivors grow the young generation.
    const kept: number[][] = []
    for (let i = 0; i < 400_000; i++) {
      const garbage = Array.from({ length: 8 }, (_, n) => n + i)
      if (i % 50 === 0) kept.push(garbage)
    }
    const before = newSpaceMb()
    expect(before).toBeGreaterThan(2)
    const released = releaseStartupMemory()
    expect(released.collected).toBe(true)
    expect(newSpaceMb()).toBeLessThan(before)
    expect(released.rssBeforeMb).toBeGreaterThan(0)
    expect(released.ms).toBeGreaterThanOrEqual(0)
    expect(kept).toHaveLength(8000)
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
  })
})
