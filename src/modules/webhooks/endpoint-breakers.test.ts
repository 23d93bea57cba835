import { describe, expect, it } from 'vitest'
import { createEndpointBreakers } from './endpoint-breakers.ts'
import type { AttemptResult } from '../../lib/outbound-post.ts'

const answer = (statusCode: number | null, outcome: AttemptResult['outcome'] = statusCode !== null && statusCode < 300 ? 'success' : 'failure'): AttemptResult =>
  ({ outcome, statusCode, error: null, retryAfterMs: null, excerpt: null, durationMs: 1 })

describe('webhook endpoint breakers', () => {
  it('opens after the threshold of unavailable answers, defers until the probe is due, lets one probe through, and closes on its success', async () => {
    const transitions: string[] = []
    const b = createEndpointBreakers({ threshold: 2, cooldownMs: 200, maxTracked: 10, onTransition: (_id, state) => transitions.push(state) })
    for (const code of [503, null]) {
      expect(b.gate('a', 1000)).toEqual({ allow: true })
      await b.send('a', async () => answer(code))
    }
    expect(transitions).toEqual(['open'])
    const gate = b.gate('a', 1000)
    expect(gate.allow).toBe(false)
    if (!gate.allow) expect(gate.deferMs).toBeGreaterThan(100)
    expect(b.gate('other', 1000)).toEqual({ allow: true })
    await new Promise((resolve) => setTimeout(resolve, 220))
    expect(b.gate('a', 1000)).toEqual({ allow: true })
    // A second attempt while the probe is out waits for its verdict.
    expect(b.gate('a', 1000).allow).toBe(false)
    expect(await b.send('a', async () => answer(204))).toMatchObject({ outcome: 'success' })
    expect(transitions).toEqual(['open', 'half-open', 'closed'])
    expect(b.gate('a', 1000)).toEqual({ allow: true })
  })

  it('counts no answer, 5xx and 429 against the endpoint, but not a refused target, a 4xx or 410', async () => {
    const b = createEndpointBreakers({ threshold: 1, cooldownMs: 60_000, maxTracked: 10 })
    for (const [id, result] of [['blocked', answer(null, 'blocked')], ['bad-request', answer(400)], ['gone', answer(410, 'gone')]] as const) {
      await b.send(id, async () => result)
      expect(b.gate(id, 1000), id).toEqual({ allow: true })
    }
    for (const code of [null, 500, 429]) {
      await b.send(`down-${code}`, async () => answer(code))
      expect(b.gate(`down-${code}`, 1000).allow).toBe(false)
    }
    expect(b.counts()).toEqual({ closed: 3, open: 3, halfOpen: 0 })
  })

  it('keeps at most maxTracked breakers, dropping the least recently used closed one before any open one', async () => {
    const b = createEndpointBreakers({ threshold: 1, cooldownMs: 60_000, maxTracked: 3 })
    await b.send('open-1', async () => answer(503))
    b.gate('closed-1', 1000)
    b.gate('closed-2', 1000)
    b.gate('closed-1', 1000)
    b.gate('closed-3', 1000)
    expect(b.counts()).toEqual({ closed: 2, open: 1, halfOpen: 0 })
    // closed-2 was the least recently used closed one: it was dropped, open-1 kept.
    expect(b.gate('open-1', 1000).allow).toBe(false)
    for (let i = 0; i < 100; i++) b.gate(`many-${i}`, 1000)
    const counts = b.counts()
    expect(counts.closed + counts.open + counts.halfOpen).toBe(3)
    expect(counts.open).toBe(1)
  })
})
