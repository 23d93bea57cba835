// An OTLP/HTTP collector stand-in for the tracing benchmark: it accepts every export (protobuf or
// JSON), counts requests and bytes, and answers 200 with an empty (valid) response message.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** OtlpSink is a local trace receiver: where to point OTEL_EXPORTER_OTLP_ENDPOINT, and what it got. */
export interface OtlpSink { url: string, exports: () => number, bytes: () => number, close: () => Promise<void> }

/** startOtlpSink listens on 127.0.0.1 on a free port. */
export async function startOtlpSink (): Promise<OtlpSink> {
  let exports = 0
  let bytes = 0
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => {
      exports++
      res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/x-protobuf') }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    bytes: () => bytes,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) })
  }
}
