// Vitest settings for the container tier (`npm run test:containers`, scripts/test-containers.sh):
// one file at a time (the machine has two cores and every test runs a whole Compose project),
// and long timeouts (each test trains the demo models in containers).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    include: ['test/containers/**/*.test.ts'],
  },
});
