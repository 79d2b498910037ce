// Fails (exit 1) when protos/generated/ (TypeScript) or python/gluonps/_proto/ (Python) is not
// exactly what `npm run generate` produces from the current .proto files, so a proto edit
// without a regenerate cannot pass `npm test`.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GENERATED_DIR, REPO_ROOT, generate } from './proto-gen.mjs';
import { PYTHON_GENERATED_DIR, generatePython } from './python-gen.mjs';

function listFiles(root) {
  const out = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return; // a missing directory lists as empty, reported as missing files below
    }
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** Regenerates `dir` with `gen` into a temporary dir and compares; returns the problems found. */
function check(dir, gen) {
  const committedDir = path.join(REPO_ROOT, dir);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gluonps-gen-'));
  try {
    const freshDir = path.join(tmp, 'generated');
    gen(freshDir);
    const fresh = listFiles(freshDir);
    const committed = listFiles(committedDir);
    const problems = [];
    for (const f of fresh) {
      if (!committed.includes(f)) problems.push(`missing: ${dir}/${f}`);
      else if (!readFileSync(path.join(freshDir, f)).equals(readFileSync(path.join(committedDir, f)))) {
        problems.push(`differs: ${dir}/${f}`);
      }
    }
    for (const f of committed) {
      if (!fresh.includes(f)) problems.push(`stale (no longer generated): ${dir}/${f}`);
    }
    if (problems.length === 0) console.log(`${dir}/ is up to date (${fresh.length} files).`);
    return problems;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const problems = [...check(GENERATED_DIR, generate), ...check(PYTHON_GENERATED_DIR, generatePython)];
if (problems.length > 0) {
  console.error(
    `generated code is out of date with the .proto files:\n  ${problems.join('\n  ')}\n` +
      'Run `npm run generate` and commit the result.',
  );
  process.exitCode = 1;
}
