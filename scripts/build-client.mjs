#!/usr/bin/env node
// Builds the publishable client package (@gluon-ps/client) into client/: the package's own
// folder holds only client/*.ts, but the client imports common/ and protos/ from the
// repository, so the JS is bundled, the declarations are emitted for the whole import graph,
// and the .proto files are copied in. Run by the client's `prepack` (npm pack -w client) and
// by `npm run build:client`. Outputs (git-ignored, rebuilt from scratch every time):
//   client/dist/index.js        the library, ESM, npm packages left as imports
//   client/dist/cli.js          the `gluonps` bin; imports ./index.js, so one copy of the code
//   client/dist/types/**.d.ts   declarations, entry dist/types/client/index.d.ts
//   client/protos/**.proto      found by protos/load.ts as ../protos next to dist/index.js
import { build } from 'esbuild';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(root, 'client');
const dist = path.join(pkgDir, 'dist');
const typesDir = path.join(dist, 'types');
const protosOut = path.join(pkgDir, 'protos');

// The package is published at the repository's version; a mismatch would ship a client that
// claims a version whose server it was not built with.
const rootVersion = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const clientVersion = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
if (rootVersion !== clientVersion) {
  fail(`client/package.json version ${clientVersion} differs from the root's ${rootVersion}`);
}

/** `from './x'`, `import('./x')`, `import './x'` with a relative x, as tsc writes them. */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*)\2/g;

rmSync(dist, { recursive: true, force: true });
rmSync(protosOut, { recursive: true, force: true });

await bundle();
emitDeclarations();
copyProtos();

async function bundle() {
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    legalComments: 'none',
    logLevel: 'warning',
  };
  await build({ ...common, entryPoints: ['client/index.ts'], outfile: path.join(dist, 'index.js') });
  // The CLI shares the library's module instance instead of bundling a second copy of it:
  // client/index, imported as ./index from cli.ts or ../index from cli/*.ts, stays an import
  // of ./index.js (cli.js and index.js sit side by side in dist/).
  const indexExternal = {
    name: 'client-index-external',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\/index(\.ts)?$/ }, (args) =>
        path.resolve(args.resolveDir, args.path.replace(/\.ts$/, '')) === path.join(pkgDir, 'index')
          ? { path: './index.js', external: true }
          : undefined,
      );
    },
  };
  await build({
    ...common,
    entryPoints: ['client/cli.ts'],
    outfile: path.join(dist, 'cli.js'),
    banner: { js: '#!/usr/bin/env node' },
    plugins: [indexExternal],
  });
  chmodSync(path.join(dist, 'cli.js'), 0o755);
}

/**
 * tsc's declarations for client/index.ts and everything it imports (common/, protos/), laid
 * out as in the repository under dist/types. The sources use extensionless relative imports
 * (moduleResolution bundler); node16/nodenext consumers need `.js` on each, so every relative
 * specifier is rewritten to the emitted file it resolves to, and one that resolves to nothing
 * fails the build rather than shipping a type that silently becomes `any`.
 */
function emitDeclarations() {
  const configPath = path.join(root, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic },
  );
  if (!parsed) fail('cannot read tsconfig.json');
  const out = mkdtempSync(path.join(tmpdir(), 'gluonps-client-dts-'));
  try {
    const options = {
      ...parsed.options,
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      declarationMap: false,
      sourceMap: false,
      rootDir: root,
      outDir: out,
    };
    const program = ts.createProgram([path.join(pkgDir, 'index.ts')], options);
    const result = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
    if (diagnostics.length > 0) {
      fail(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost()));
    }
    for (const file of walk(out)) {
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, rewriteSpecifiers(text, file));
    }
    cpSync(out, typesDir, { recursive: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  if (!existsSync(path.join(typesDir, 'client', 'index.d.ts'))) fail('no dist/types/client/index.d.ts emitted');
}

function rewriteSpecifiers(text, file) {
  const dir = path.dirname(file);
  return text.replace(RELATIVE_SPECIFIER, (_all, lead, quote, spec) => {
    const bare = spec.replace(/\.(ts|js|d\.ts)$/, '');
    let target;
    if (existsSync(path.resolve(dir, `${bare}.d.ts`))) target = `${bare}.js`;
    else if (existsSync(path.resolve(dir, bare, 'index.d.ts'))) target = `${bare}/index.js`;
    else fail(`${path.relative(root, file)}: cannot resolve the declaration import '${spec}'`);
    return `${lead}${quote}${target}${quote}`;
  });
}

/** protos/gluonps, protos/grpc and protos/etcd (etcd:// discovery), .proto files only (not load.ts or the generated types). */
function copyProtos() {
  for (const sub of ['gluonps', 'grpc', 'etcd']) {
    const from = path.join(root, 'protos', sub);
    for (const file of walk(from)) {
      if (file.endsWith('.proto')) cpSync(file, path.join(protosOut, sub, path.relative(from, file)));
    }
  }
  if (!existsSync(path.join(protosOut, 'gluonps/v1/parameter.proto'))) fail('no .proto files copied');
  if (!existsSync(path.join(protosOut, 'etcd/etcdserverpb/rpc.proto'))) fail('no etcd .proto files copied');
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

function formatHost() {
  return {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  };
}

function onUnRecoverableConfigFileDiagnostic(d) {
  fail(ts.formatDiagnostic(d, formatHost()));
}

function fail(message) {
  console.error(`build-client: ${message}`);
  process.exit(1);
}
