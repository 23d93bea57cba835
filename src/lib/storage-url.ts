import { ConfigError } from './config-values.ts'

/** S3Location is STORAGE_URL read into the S3 adapter's settings. */
export interface S3Location {
  endpoint: string
  bucket: string
  /** prefix is put before every key, so several deployments can share one bucket ('' or ending in '/'). */
  prefix: string
  region: string
  forcePathStyle: boolean
  /** credentials are the URL's user and password; without them the AWS SDK's default chain (environment, instance role) signs. */
  credentials: { accessKeyId: string, secretAccessKey: string } | undefined
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/**
 * parseStorageUrl reads `s3://KEY:SECRET@host[:port]/bucket[/prefix]?region=…&path_style=true`:
 * `s3://` and `s3+https://` reach the host over TLS, `s3+http://` without (a store on loopback).
 * Its messages never repeat the URL: it holds the secret key.
 */
export function parseStorageUrl (text: string | undefined): S3Location | undefined {
  if (text === undefined) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError('STORAGE_URL is not a URL: expected s3://KEY:SECRET@host[:port]/bucket?region=…')
  }
  const scheme = url.protocol === 's3+http:' ? 'http' : 'https'
  const [bucket = '', ...rest] = decodeURIComponent(url.pathname).split('/').filter(Boolean)
  if (!BUCKET.test(bucket)) throw new ConfigError('STORAGE_URL must name a bucket (3-63 lower-case letters, digits, dots and hyphens) as its path: s3://host/bucket')
  const pathStyle = url.searchParams.get('path_style') ?? 'false'
  if (pathStyle !== 'true' && pathStyle !== 'false') throw new ConfigError('STORAGE_URL path_style must be true or false')
  const user = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  if ((user === '') !== (password === '')) throw new ConfigError('STORAGE_URL must give both the access key id and the secret (KEY:SECRET@host), or neither to use the SDK\'s default credentials')
  return {
    endpoint: `${scheme}://${url.host}`,
    bucket,
    prefix: rest.length === 0 ? '' : `${rest.join('/')}/`,
    region: url.searchParams.get('region') ?? 'us-east-1',
    forcePathStyle: pathStyle === 'true',
    credentials: user === '' ? undefined : { accessKeyId: user, secretAccessKey: password }
  }
}
