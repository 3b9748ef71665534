import { defineConfig } from '@hey-api/openapi-ts'

// The typed client of the jointplan API: types, and one function per operation (named after
// the route function: listScenarios, getPlan, ...), on the Fetch client. The fetch layer
// (src/api/client.ts) configures the one client instance: base URL, cookies, CSRF, errors.
export default defineConfig({
  input: 'openapi.json',
  output: { path: 'src/client' },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
})
