import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config.ts'
import { parseStorageUrl } from './storage-url.ts'

const load = (env: Record<string, string>) => loadConfig(env, { filesOff: true })
const prod = { BACKPLANE_ENV: 'production', BACKPLANE_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://app@db.internal/app' }

describe('STORAGE_URL', () => {
  it('reads endpoint, bucket, prefix, region, path style and credentials', () => {
    expect(parseStorageUrl('s3+http://AK:S%2FK@127.0.0.1:9000/files/team-a/prod?region=eu-west-1&path_style=true')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'files',
      prefix: 'team-a/prod/',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'S/K' }
    })
    expect(parseStorageUrl('s3://s3.eu-west-1.amazonaws.com/my-bucket')).toMatchObject({ endpoint: 'https://s3.eu-west-1.amazonaws.com', prefix: '', region: 'us-east-1', forcePathStyle: false, credentials: undefined })
    expect(parseStorageUrl(undefined)).toBeUndefined()
  })

  it.each([
    ['s3://host', 'must name a bucket'],
    ['s3://host/Bad_Bucket', 'must name a bucket'],
    ['s3://host/bucket?path_style=yes', 'path_style must be true or false'],
    ['s3://KEYONLY@host/bucket', 'both the access key id and the secret']
  ])('refuses %s, never repeating the URL', (url, message) => {
    expect(() => load({ STORAGE_URL: url })).toThrow(ConfigError)
    expect(() => load({ STORAGE_URL: url })).toThrow(message)
  })

  it('masks the secret key wherever settings are shown', () => {
    const shown = load({ STORAGE_URL: 's3+http://AK:very-secret@127.0.0.1:9000/files' }).effective.STORAGE_URL?.value
    expect(shown).not.toContain('very-secret')
    expect(shown).toContain('****')
  })

  it('is required in production with several nodes (REDIS_URL) unless STORAGE_LOCAL_OK=true', () => {
    const several = { ...prod, REDIS_URL: 'redis://cache.internal:6379' }
    expect(() => load(several)).toThrow('STORAGE_URL is required when BACKPLANE_ENV=production with REDIS_URL (several nodes)')
    expect(load({ ...several, STORAGE_LOCAL_OK: 'true' }).storage).toEqual({ s3: undefined, localAllowedInProduction: true })
    expect(load({ ...several, STORAGE_URL: 's3://AK:SK@s3.example.com/files' }).storage.s3?.bucket).toBe('files')
    // One node keeps files on its own disk, like the embedded database.
    expect(load(prod).storage.s3).toBeUndefined()
  })
})
