/** PushPayload is the JSON a service worker receives in its `push` event (`event.data.json()`). */
export interface PushPayload {
  id: string
  type: string
  title: string
  body: string
  link: string | null
}

/**
 * MAX_PAYLOAD_BYTES is the most plaintext one aes128gcm record carries inside the 4096 bytes every
 * push service accepts (RFC 8291 §4: 86 bytes of header, a padding delimiter and a 16-byte tag).
 */
export const MAX_PAYLOAD_BYTES = 4096 - 86 - 1 - 16

const bytes = (text: string) => Buffer.byteLength(text, 'utf8')

// Cut by code points, so a surrogate pair is never split into invalid UTF-8.
function cut (text: string, chars: number): string {
  const points = [...text]
  return points.length <= chars ? text : `${points.slice(0, Math.max(0, chars - 1)).join('')}…`
}

/**
 * encodePayload gives the payload's JSON within MAX_PAYLOAD_BYTES: a body (then a title) too long
 * is shortened with an ellipsis rather than the message refused; the link and id stay whole.
 */
export function encodePayload (payload: PushPayload): string {
  const fields = { id: payload.id, type: payload.type, title: payload.title, body: payload.body, link: payload.link }
  let json = JSON.stringify(fields)
  for (const key of ['body', 'title'] as const) {
    while (bytes(json) > MAX_PAYLOAD_BYTES && fields[key].length > 0) {
      const over = bytes(json) - MAX_PAYLOAD_BYTES
      // Each character costs at least one byte; escaped or multi-byte ones more, hence the loop.
      fields[key] = fields[key].length <= 1 ? '' : cut(fields[key], Math.max(1, [...fields[key]].length - over - 1))
      json = JSON.stringify(fields)
    }
  }
  if (bytes(json) > MAX_PAYLOAD_BYTES) throw new Error(`a push payload must fit in ${MAX_PAYLOAD_BYTES} bytes; its id, type and link alone do not`)
  return json
}
