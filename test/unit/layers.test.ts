// The layers, checked on what the code really loads (esbuild's metafile: run-time imports
// only, type imports are erased): the client bundle pulls in nothing from server/ or native/,
// and no module of the product imports itself through a cycle. The ESLint rule in
// eslint.config.js checks the same boundaries on the source text; this catches what a rule
// on import strings cannot (re-exports, a path that reaches server/ through another folder).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function metafileOf(entryPoints: string[]): Promise<Metafile> {
  const result = await build({
    entryPoints: entryPoints.map((e) => path.join(ROOT, e)),
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: path.join(ROOT, '.build', 'layers-probe'),
    logLevel: 'silent',
  });
  return result.metafile;
}

/** Every .ts file of the product folders (tests, benchmarks and generated types excluded). */
function productSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'build' && e.name !== 'generated' && e.name !== 'node_modules') walk(rel);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  for (const dir of ['client', 'common', 'server', 'native', 'tools']) walk(dir);
  return [...out, 'protos/load.ts'];
}

/** The import cycles of a module graph, each as the list of files around it. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('layers', () => {
  it('the client bundle (client/index.ts) contains no server/ or native/ module', async () => {
    const meta = await metafileOf(['client/index.ts']);
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('client/index.ts');
    expect(inputs.some((i) => i.startsWith('common/'))).toBe(true);
    expect(inputs.filter((i) => /^(server|native)\//.test(i))).toEqual([]);
  });

  it('no import cycles among the product modules', async () => {
    const meta = await metafileOf(productSources());
    const graph = new Map(
      Object.entries(meta.inputs).map(([file, input]) => [
        file,
        input.imports.filter((i) => !i.external && i.kind !== 'dynamic-import').map((i) => i.path),
      ]),
    );
    expect(graph.size).toBeGreaterThan(50);
    expect(findCycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('findCycles finds a cycle and accepts a tree', () => {
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      findCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });
});
