import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The app is served by `jointplan serve` under /app/; in development (npm run dev) Vite serves
// it and forwards the API's paths to the service at $JOINTPLAN_API (default 127.0.0.1:8000).
const api = process.env.JOINTPLAN_API ?? 'http://127.0.0.1:8000'
const apiPaths = [
  '/auth', '/partners', '/users', '/uploads', '/history', '/submissions', '/exceptions', '/exception-scans',
  '/consensus', '/fva', '/scenarios', '/plans', '/reviews', '/forecast-runs', '/compare', '/jobs', '/health',
  '/docs', '/openapi.json',
]

export default defineConfig({
  base: '/app/',
  plugins: [react()],
  server: {
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    chunkSizeWarningLimit: 900,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
