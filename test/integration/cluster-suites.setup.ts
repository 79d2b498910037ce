// Global setup of the `cluster` vitest project: bundles the server CLI once (as `npm start`
// runs it) for the shard processes every suite file starts (suite-target.ts), and removes the
// bundle at the end.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function setup(project: TestProject): Promise<() => void> {
  const name = `gluonps-suites-${process.pid}`;
  await promisify(execFile)(process.execPath, ['scripts/bundle.mjs', 'server/cli.ts', name], {
    cwd: ROOT,
    timeout: 120_000,
  });
  const file = path.join(ROOT, '.build', `${name}.mjs`);
  project.provide('suiteServerBundle', file);
  return () => rmSync(file, { force: true });
}
