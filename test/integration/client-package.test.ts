// The client as a worker machine gets it: `npm pack -w client` (its prepack builds dist/ and
// protos/), then `npm install` of the tarball into an empty directory whose PATH holds only
// node and npm, so any C++ build would fail (no g++, make or python), from the npm cache that
// `npm ci` filled. Against a real server started here: README.md's "A client in 15 lines"
// example, taken from the README itself, runs with plain node; the installed `gluonps` bin runs
// help, checkpoint and export; and a small TypeScript consumer typechecks against the shipped
// declarations under moduleResolution nodenext and bundler.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index';
import { startServer } from '../../server/index';
import type { RunningServer } from '../../server/index';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PKG = '@gluon-ps/client';
const DEPENDENCIES = ['@grpc/grpc-js', '@grpc/proto-loader'];

let work: string;
let app: string; // the consumer project the tarball is installed into
let bin: string; // the only folder on the consumer's PATH
let packed: { filename: string; size: number; files: Array<{ path: string }> };
let server: RunningServer;
let dataDir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (bounded), never rejecting: the test asserts on the result. */
function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr: stderr + (err !== null && code === null ? `\n${err.message}` : '') });
    });
  });
}

/**
 * This process's environment without what would leak the repository into the consumer: npm's
 * per-run variables (set when the suite runs under `npm test`; the cache and registry stay)
 * and GLUONPS_* (GLUONPS_PROTO_DIR would hide a package that lacks its .proto files).
 */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^gluonps_/i.test(k)) continue;
    if (/^npm_/i.test(k) && !/^npm_config_(cache|registry)$/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/** The consumer's environment: PATH is the bin folder with node and npm in it, nothing else. */
function consumerEnv(): NodeJS.ProcessEnv {
  return { ...baseEnv(), PATH: bin };
}

function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  throw new Error(`${name} is not on PATH`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** The ```ts block under README.md's "## A client in 15 lines" heading. */
function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /^## A client in 15 lines\n[^]*?^```ts\n([^]*?)^```$/m.exec(readme);
  if (m === null) throw new Error('README.md: no ```ts block under "## A client in 15 lines"');
  return m[1]!;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'gluonps-client-pkg-'));
  app = path.join(work, 'app');
  bin = path.join(work, 'bin');
  for (const d of [app, bin, path.join(work, 'pack')]) mkdirSync(d);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  symlinkSync(which('npm'), path.join(bin, 'npm'));

  // Packing runs the client's prepack (scripts/build-client.mjs), with the repository's tools.
  const pack = await run(
    which('npm'),
    ['pack', '-w', 'client', '--pack-destination', path.join(work, 'pack'), '--json'],
    ROOT,
    baseEnv(),
    150_000,
  );
  expect(pack.code, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout) as [typeof packed];

  // An empty project; `--script-shell` names the shell by absolute path so the dependencies'
  // JavaScript install scripts (protobufjs's postinstall) run without sh on PATH.
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = await run(
    path.join(bin, 'npm'),
    [
      'install',
      path.join(work, 'pack', packed.filename),
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--script-shell=/bin/sh',
    ],
    app,
    consumerEnv(),
    120_000,
  );
  expect(install.code, install.stderr).toBe(0);

  dataDir = path.join(work, 'data');
  server = await startServer({ port: 0, logLevel: 'silent', dataDir });
  const ps = await connect(server.address, { connectTimeoutMs: 5000 });
  try {
    const p = await ps.parameter('fc.weight', { shape: [3, 4] });
    await p.initialize({ seed: 1 });
  } finally {
    await ps.close();
  }
}, 300_000);

afterAll(async () => {
  await server?.close(2000);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed client package', () => {
  it('holds only the bundle, the declarations, the .proto files and package.json', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(
      paths.filter((p) => !/^(package\.json|dist\/(index|cli)\.js|dist\/types\/.+\.d\.ts|protos\/.+\.proto)$/.test(p)),
    ).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/index.js',
        'dist/cli.js',
        'dist/types/client/index.d.ts',
        'protos/gluonps/v1/parameter.proto',
        'protos/etcd/etcdserverpb/rpc.proto',
        'protos/etcd/mvccpb/kv.proto',
        'protos/gluonps/v1/trainer.proto',
        'protos/grpc/health/v1/health.proto',
      ]),
    );
    expect(packed.size).toBeLessThan(1 << 20);
  });

  it('installed without a compiler: no install script, no native code, only the gRPC dependencies', () => {
    expect(readdirSync(bin).sort()).toEqual(['node', 'npm']);
    const installed = path.join(app, 'node_modules', PKG);
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      version: string;
      scripts?: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => /install|prepare/.test(s))).toEqual([]);
    const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as typeof manifest;
    expect(manifest.version).toBe(root.version);
    expect(manifest.dependencies).toEqual(Object.fromEntries(DEPENDENCIES.map((d) => [d, root.dependencies[d]])));
    const built = filesUnder(path.join(app, 'node_modules')).filter((f) => /\.node$|binding\.gyp$|\.o$/.test(f));
    expect(built).toEqual([]);
  });

  it("runs README.md's client example against a real server", async () => {
    const example = readmeExample();
    // The heading's promise.
    expect(example.trimEnd().split('\n').length).toBeLessThanOrEqual(15);
    expect(example).toContain(`from '${PKG}';`);
    expect(example).toContain("connect('127.0.0.1:50051')");
    writeFileSync(path.join(app, 'example.mjs'), example.replace("'127.0.0.1:50051'", `'${server.address}'`));
    const r = await run(path.join(bin, 'node'), ['example.mjs'], app, consumerEnv());
    expect(r.code, r.stderr).toBe(0);
    // console.log(t.shape, version after initialize + setData, indices, values.shape).
    expect(r.stdout).toBe('[ 4, 3 ] 2 BigInt64Array(2) [ 1n, 5n ] [ 2, 16 ]\n');
  }, 90_000);

  it('loads its vendored etcd protos for etcd:// (an etcd that is not there: UNAVAILABLE naming it)', async () => {
    writeFileSync(
      path.join(app, 'etcd.mjs'),
      [
        `import { connect } from '${PKG}';`,
        "await connect('etcd://127.0.0.1:1/blue', { connectTimeoutMs: 300 }).then(",
        "  () => console.log('connected?'),",
        '  (e) => console.log(e.code, e.message),',
        ');',
      ].join('\n'),
    );
    const r = await run(path.join(bin, 'node'), ['etcd.mjs'], app, consumerEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^14 connect\(\): cannot read cluster 'blue' in etcd \(127\.0\.0\.1:1\)/);
  }, 60_000);

  it('installs the gluonps bin, which works against the server', async () => {
    const gluonps = path.join(app, 'node_modules', '.bin', 'gluonps');
    const help = await run(gluonps, ['help'], app, consumerEnv());
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: gluonps <command>/);
    // As a worker would type it: npm exec (npx) finds the local bin.
    const npx = await run(
      path.join(bin, 'npm'),
      ['exec', '--offline', '--script-shell=/bin/sh', '--', 'gluonps', 'help'],
      app,
      consumerEnv(),
    );
    expect(npx.code, npx.stderr).toBe(0);
    expect(npx.stdout).toContain('checkpoint');

    const ckpt = await run(gluonps, ['checkpoint', '--server', server.address, '--json'], app, consumerEnv());
    expect(ckpt.code, ckpt.stderr).toBe(0);
    expect(JSON.parse(ckpt.stdout)).toMatchObject({ command: 'checkpoint', dataDir });
    // The inspection commands (their modules under cli/ share dist/index.js with the library).
    const status = await run(gluonps, ['status', '--server', server.address, '--json'], app, consumerEnv());
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ command: 'status', health: { status: 'SERVING' } });
    const list = await run(gluonps, ['list', '--server', server.address], app, consumerEnv());
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^NAME +KIND +SHAPE/);
    // One copy of the library (one GluonPsError class): the bin imports it from index.js, and
    // bundles only the CLI's own modules (esbuild marks each with a `// path` comment).
    const cliJs = readFileSync(path.join(app, 'node_modules', PKG, 'dist', 'cli.js'), 'utf8');
    expect(cliJs).toContain('from "./index.js"');
    const modules = [...cliJs.matchAll(/^\/\/ (client\/\S+\.ts)$/gm)].map((m) => m[1]);
    expect(modules.filter((m) => !/^client\/cli(\.ts|\/)/.test(m!))).toEqual([]);

    const file = path.join(work, 'model.safetensors');
    const args = ['export', '--server', server.address, '--format', 'safetensors', '--file', file, '--json'];
    const exp = await run(gluonps, args, app, consumerEnv());
    expect(exp.code, exp.stderr).toBe(0);
    expect((JSON.parse(exp.stdout) as { parameters: number }).parameters).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(true);
  }, 120_000);

  it('ships declarations a TypeScript consumer checks under nodenext and bundler resolution', async () => {
    writeFileSync(
      path.join(app, 'consumer.ts'),
      [
        `import { connect, cpu, GluonPsError, init, Status } from '${PKG}';`,
        `import type { ParameterServerClient, ReadTensor } from '${PKG}';`,
        'export async function firstValue(address: string): Promise<number> {',
        '  const ps: ParameterServerClient = await connect(address, { connectTimeoutMs: 1000 });',
        "  const w = await ps.parameter('w', { shape: [2, 2], init: init.xavier() });",
        '  await w.initialize({ ctx: [cpu(0)] });',
        '  const t: ReadTensor = await w.data(cpu(0));',
        '  // A wrong type must fail: proves the declarations resolved rather than became `any`.',
        '  // @ts-expect-error shape takes numbers',
        "  await ps.parameter('bad', { shape: ['2'] });",
        '  await ps.close();',
        '  const e = new GluonPsError(Status.NOT_FOUND, "x");',
        '  return Number(t.data[0]) + e.code;',
        '}',
        '',
      ].join('\n'),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const common = ['--noEmit', '--strict', '--target', 'es2022', '--types', 'node', 'consumer.ts'];
    for (const resolution of [
      ['--module', 'nodenext', '--moduleResolution', 'nodenext'],
      ['--module', 'esnext', '--moduleResolution', 'bundler'],
    ]) {
      const r = await run(path.join(bin, 'node'), [tsc, ...resolution, ...common], app, consumerEnv(), 90_000);
      expect(r.code, `${resolution.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  }, 180_000);
});
