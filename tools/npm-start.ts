// npm-start.ts: how `npm start` runs the server (package.json's "start" script, read at run
// time), so the benchmarks and the demo start it exactly the same way.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How `npm start` runs the server: its environment assignments, node flags, script and arguments. */
export interface StartCommand {
  env: Record<string, string>;
  nodeFlags: string[];
  script: string;
  args: string[];
}

/**
 * Reads the last command of package.json's "start" script, e.g.
 * `MALLOC_MMAP_THRESHOLD_=... exec node --enable-source-maps .build/gluonps-server.mjs`, so the
 * benchmarks and the demo launch the server exactly as `npm start` does (same environment and node flags)
 * and follow any change to it. Throws if the script no longer has that shape.
 */
export function npmStartCommand(): StartCommand {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = pkg.scripts?.start ?? '';
  const last = script.split('&&').pop()!.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < last.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(last[i]!); i++) {
    const eq = last[i]!.indexOf('=');
    env[last[i]!.slice(0, eq)] = last[i]!.slice(eq + 1);
  }
  if (last[i] === 'exec') i++;
  if (last[i] !== 'node') throw new Error(`bench: cannot read the server command from package.json "start": ${script}`);
  i++;
  const nodeFlags: string[] = [];
  for (; i < last.length && last[i]!.startsWith('-'); i++) nodeFlags.push(last[i]!);
  const entry = last[i];
  if (entry === undefined || !entry.endsWith('.mjs'))
    throw new Error(`bench: no server bundle in package.json "start": ${script}`);
  return { env, nodeFlags, script: path.resolve(REPO_ROOT, entry), args: last.slice(i + 1) };
}
