// Produces the committed TypeScript types under protos/generated/ from protos/**/*.proto.
// It is the single source of the generator flags: `npm run generate` runs it, and
// scripts/check-generated.mjs imports it to regenerate into a temp dir and diff, so the two
// can never drift. The flags must agree with the loader options in protos/load.ts
// (camelCase fields, longs as Number, enums as String, defaults, oneofs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PROTO_DIR = 'protos';
export const GENERATED_DIR = path.join(PROTO_DIR, 'generated');

export const GEN_FLAGS = [
  '--longs=Number',
  '--enums=String',
  '--defaults',
  '--oneofs',
  '--includeComments',
  '--grpcLib=@grpc/grpc-js',
];

/** Every .proto under protos/, relative to it, sorted so the output never depends on readdir order. */
export function protoFiles() {
  const found = [];
  const walk = (rel) => {
    for (const entry of readdirSync(path.join(REPO_ROOT, PROTO_DIR, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (child !== 'generated') walk(child);
      } else if (entry.name.endsWith('.proto')) {
        found.push(child);
      }
    }
  };
  walk('');
  return found.sort();
}

/** Runs proto-loader-gen-types into outDir (absolute, emptied first); throws on failure. */
export function generate(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const require = createRequire(import.meta.url);
  const bin = path.join(
    path.dirname(require.resolve('@grpc/proto-loader/package.json')),
    'build/bin/proto-loader-gen-types.js',
  );
  // cwd is the repo root so the "Original file: protos/..." comments are the same wherever
  // the output goes (the check writes to a temp dir).
  const result = spawnSync(
    process.execPath,
    [bin, ...GEN_FLAGS, '-I', PROTO_DIR, '--outDir', outDir, ...protoFiles()],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`proto-loader-gen-types failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  generate(path.join(REPO_ROOT, GENERATED_DIR));
  console.log(`generated ${GENERATED_DIR}/ from ${protoFiles().join(', ')}`);
}
