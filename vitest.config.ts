import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    // The suite drives real servers, sockets, child processes and databases in parallel on a
    // 2-core machine; one retry keeps a scheduling hiccup from failing CI. A test that fails
    // twice in a row still fails, and every bound it asserts is the same on the retry.
    retry: 1,
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts']
        }
      },
      // The admin console's component tests (happy-dom) and bundle budget: dashboard/vitest.config.ts.
      'dashboard/vitest.config.ts'
    ]
  }
})
