import { defineConfig } from '@playwright/test'

// End-to-end tests of the workbench in Debian's Chromium (never a downloaded browser), against
// `jointplan serve` and a worker on a fresh database (SQLite; PostgreSQL when
// JOINTPLAN_TEST_POSTGRES_URL is set), started by e2e/global-setup.ts. Build the app first
// (npm run build): the service serves web/dist.
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.JOINTPLAN_CHROMIUM ?? '/usr/bin/chromium' },
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
