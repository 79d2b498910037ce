#!/usr/bin/env node
// Bundles a TypeScript entry point into .build/<name>.mjs with esbuild (npm packages stay
// external and resolve from node_modules). The server runs from this bundle under plain node:
// running under the tsx loader was measured to halve transport throughput (extra GC).
// Usage: node scripts/bundle.mjs server/cli.ts gluonps-server
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [entry, name] = process.argv.slice(2);
if (!entry || !name) {
  console.error('usage: node scripts/bundle.mjs <entry.ts> <name>');
  process.exit(2);
}
await build({
  entryPoints: [path.resolve(root, entry)],
  outfile: path.join(root, '.build', `${name}.mjs`),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
