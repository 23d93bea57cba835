import { describe, expect, it } from 'vitest'
import { MAX_DETAILS_BYTES, REDACTED, cleanText, scrubDetails } from './redaction.ts'

describe('scrubDetails', () => {
  it('redacts every key naming a secret, at any depth and in any case', () => {
    const out = scrubDetails({
      password: 'p1',
      currentPassword: 'p2',
      nested: { apiKey: 'k1', list: [{ refresh_token: 't1' }, { Authorization: 'a1' }], 'Set-Cookie': 'c1' },
      clientSecret: null,
      passphrase: { deep: 'p3' },
      keep: 'visible',
      count: 3
    })
    expect(out).toEqual({
      password: REDACTED,
      currentPassword: REDACTED,
      nested: { apiKey: REDACTED, list: [{ refresh_token: REDACTED }, { Authorization: REDACTED }], 'Set-Cookie': REDACTED },
      clientSecret: REDACTED,
      passphrase: REDACTED,
      keep: 'visible',
      count: 3
    })
  })

  it('redacts values that are credentials whatever their key', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'
    const out = scrubDetails({ header: 'Bearer abc.def', note: `see ${jwt}`, key2: 'x', raw: `bp_${'a'.repeat(32)}`, prefix: 'bp_1234' })
    expect(out.header).toBe(REDACTED)
    expect(out.note).toBe(REDACTED)
    expect(out.raw).toBe(REDACTED)
    expect(out.prefix).toBe('bp_1234')
  })

  it('stores newlines and escapes as given (JSON escapes them), but never NUL', () => {
    const out = scrubDetails({ name: 'a\nb\u001b[31mc', nul: 'x\u0000y' })
    expect(out).toEqual({ name: 'a\nb\u001b[31mc', nul: 'x\uFFFDy' })
  })

  it('bounds depth, keys, items, strings and the serialized size', () => {
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 20; i++) deep = { deep }
    expect(JSON.stringify(scrubDetails(deep))).toContain('[too deep]')
    const many = scrubDetails({ list: Array.from({ length: 500 }, (_, i) => i) })
    expect((many.list as unknown[]).length).toBe(50)
    expect((scrubDetails({ s: 'x'.repeat(5000) }).s as string).length).toBe(1000)
    const big = scrubDetails(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, '"é\n'.repeat(300)])))
    expect(big.truncated).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThanOrEqual(MAX_DETAILS_BYTES)
    expect(typeof big.preview).toBe('string')
  })

  it('keeps data and drops what is not data', () => {
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    const out = scrubDetails({ circular, when: new Date(0), fn: () => 1, big: 10n, nan: Number.NaN, err: new Error('token=abc') })
    expect(out).toEqual({ circular: { a: 1, self: '[circular]' }, when: '1970-01-01T00:00:00.000Z', big: '10', nan: null, err: { error: 'Error' } })
    expect(scrubDetails(undefined)).toEqual({})
    expect(scrubDetails(['a'])).toEqual({ value: ['a'] })
  })

  it('cleanText caps length and replaces NUL', () => {
    expect(cleanText('abcdef', 4)).toBe('abc…')
    expect(cleanText('a\u0000', 10)).toBe('a\uFFFD')
  })
})
