import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { defineConfig } from 'vite'
import type { Plugin } from 'vite'
import react from '@vitejs/plugin-react'

// The console is served by Backplane at /admin (see CONTRACTS.md): hashed assets under
// /admin/assets/, no inline script or style (the pages run under `script-src 'self'; style-src 'self'`).
const api = process.env.BACKPLANE_URL ?? 'http://localhost:8080'

/** precompress writes x.js.br and x.js.gz next to each script and style sheet: Backplane sends them as they are, without compressing per request. */
function precompress (): Plugin {
  return {
    name: 'backplane-precompress',
    apply: 'build',
    generateBundle (_options, bundle) {
      for (const [fileName, file] of Object.entries(bundle)) {
        if (!/\.(?:js|css)$/.test(fileName)) continue
        const body = Buffer.from(file.type === 'chunk' ? file.code : file.source)
        this.emitFile({ type: 'asset', fileName: `${fileName}.gz`, source: gzipSync(body, { level: 9 }) })
        this.emitFile({ type: 'asset', fileName: `${fileName}.br`, source: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }) })
      }
    }
  }
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  plugins: [react(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline an asset as a data: URL (a CSP without data: would refuse it) and no module preload polyfill (an inline script).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    // The precompression above is the build's slowest step by design; no timing report in `npm install`'s output.
    rolldownOptions: { checks: { pluginTimings: false } }
  },
  server: {
    port: 5173,
    proxy: { '/api': { target: api, ws: true, changeOrigin: false } }
  },
  preview: {
    port: 4173,
    proxy: { '/api': { target: api, ws: true } }
  }
})
