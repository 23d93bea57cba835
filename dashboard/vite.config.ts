import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The console is served by Backplane at /admin (see CONTRACTS.md): hashed assets under
// /admin/assets/, no inline script or style (the pages run under `script-src 'self'; style-src 'self'`).
const api = process.env.BACKPLANE_URL ?? 'http://localhost:8080'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline an asset as a data: URL (a CSP without data: would refuse it) and no module preload polyfill (an inline script).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false
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
