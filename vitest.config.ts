// Vitest settings for every tier (test/unit, test/native, test/integration, test/gpu) but the
// browser tier (test/browser, its own config).
// Forks, not threads: the native addon and grpc-js servers are safer in separate processes.
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60000,
    include: ['test/**/*.test.ts'],
    // The browser tier needs chromium and runs on its own (npm run test:browser).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
  },
});
