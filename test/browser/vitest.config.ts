// Vitest settings for the browser tier (`npm run test:browser`, scripts/test-browser.sh): the
// status page in Debian's headless chromium driven by playwright-core. One file at a time (each
// test runs a server, a training demo and a browser on a two-core machine), long timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    include: ['test/browser/**/*.test.ts'],
  },
});
