// Vitest settings for every tier (test/unit, test/native, test/integration, test/gpu) but the
// browser tier (test/browser, its own config), in two projects:
// - `server`: every test file, the integration suites against one server;
// - `cluster`: the parameter and trainer suites again, against a 3-shard cluster (real server
//   processes, slices of 16 bytes so their tensors split; test/integration/suite-target.ts), so
//   a cluster must answer them as one server does (issue 13). `--project server` runs one side.
// Forks, not threads: the native addon and grpc-js servers are safer in separate processes.
import { configDefaults, defineConfig } from 'vitest/config';

/** The suites re-run against a cluster. */
const CLUSTER_SUITES = [
  'parameter',
  'parameter-methods',
  'constant-deferred-sparse',
  'dtypes',
  'errors',
  'trainer-sync',
  'trainer-async',
  'trainer-params',
  'trainer-states',
  'trainer-idempotency',
].map((name) => `test/integration/${name}.test.ts`);

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60000,
    // The browser tier needs chromium and runs on its own (npm run test:browser).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    projects: [
      { extends: true, test: { name: 'server', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: CLUSTER_SUITES,
          env: { GLUONPS_TEST_CLUSTER: '3' },
          // beforeAll starts three server processes: slower than one in-process server.
          hookTimeout: 60000,
          // Bundles the server CLI once for every file's shards.
          globalSetup: ['test/integration/cluster-suites.setup.ts'],
        },
      },
    ],
  },
});
