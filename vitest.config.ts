// Vitest settings for every tier (test/unit, test/native, test/integration, test/gpu).
// Forks, not threads: the native addon and grpc-js servers are safer in separate processes.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60000,
    include: ['test/**/*.test.ts'],
  },
});
