import { fileErrors } from './errors.ts'

// file-type (with strtok3 and its tokenizers, ~40 modules) is loaded by the first upload, not at start (idle RSS, issue 13).
const loadSniffer = () => import('file-type')
let sniffer: ReturnType<typeof loadSniffer> | undefined

/** SNIFF_BYTES is how much of the start of a file is read to tell its type (file-type's reasonable sample size). */
export const SNIFF_BYTES = 4100

// Types that declare nothing: what curl sends for --data-binary, and the generic binary type.
const UNDECLARED = new Set(['application/x-www-form-urlencoded', 'application/octet-stream'])
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/

/** declaredType reads a request's Content-Type into its essence (`image/png`), undefined when it declares nothing; 400 when it is not a media type. */
export function declaredType (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const essence = header.split(';')[0]!.trim().toLowerCase()
  if (essence === '' || UNDECLARED.has(essence)) return undefined
  if (!MEDIA_TYPE.test(essence)) throw fileErrors.FILE_TYPE_INVALID()
  return essence
}

/**
 * resolveContentType checks the declared type against the first bytes and returns the type to
 * store: the sniffed one when nothing was declared, else the declared one. The bytes must not be a
 * format other than the declared one, and a declared format the sniffer knows (PNG, PDF, ZIP …)
 * must be recognised in them; 415 FILE_TYPE_MISMATCH otherwise.
 */
export async function resolveContentType (declared: string | undefined, head: Uint8Array): Promise<string> {
  const { fileTypeFromBuffer, supportedMimeTypes } = await (sniffer ??= loadSniffer())
  const sniffed = (await fileTypeFromBuffer(head))?.mime
  if (declared === undefined) return sniffed ?? 'application/octet-stream'
  const mismatch = sniffed === undefined ? supportedMimeTypes.has(declared as never) : sniffed !== declared
  if (mismatch) {
    throw fileErrors.FILE_TYPE_MISMATCH(`The bytes are ${sniffed === undefined ? 'not recognisably' : sniffed + ', not'} ${declared} as declared by Content-Type`)
  }
  return declared
}
