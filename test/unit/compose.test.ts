// Checks docker-compose.yml, the Dockerfile and .dockerignore without a Docker engine: the
// compose file is parsed (the `yaml` package, duplicate keys refused), interpolated the way
// Compose does (${VAR:-default}), and every command, script
// and file its services name must exist in the repository: npm scripts are looked up in
// package.json and their own files checked, server flags must be ones the server accepts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exposureRefusal } from '../../server/auth';
import { parseCommandLine } from '../../server/config';
import { securityFromEnv, serverTarget } from '../../demo/worker';
import { demoWorkerFlags, flagValue, read, ROOT, serverFlags } from '../fixtures/deploy-files';

// --- the parsed file ---------------------------------------------------------------------------

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$ for a literal $. */
export function interpolate<T extends Yaml>(value: T, env: Record<string, string | undefined>): T {
  const sub = (s: string): string =>
    s.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
      (all, name?: string, op?: string, fallback?: string) => {
        if (all === '$$') return '$';
        const v = env[name!];
        if (op === ':-') return v === undefined || v === '' ? fallback! : v;
        if (op === '-') return v === undefined ? fallback! : v;
        return v ?? '';
      },
    );
  if (typeof value === 'string') return sub(value) as T;
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)])) as T;
  }
  return value;
}

// --- helpers over the parsed file ------------------------------------------------------------

type Obj = { [key: string]: Yaml };
const obj = (v: Yaml | undefined, what: string): Obj => {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${what}: expected a mapping`);
  return v;
};
const strings = (v: Yaml | undefined, what: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`${what}: expected a list of strings (exec form)`);
  return v as string[];
};

/** The file parsed (merge keys `<<` resolved, as Compose does) and interpolated. */
function compose(env: Record<string, string | undefined> = {}, file = 'docker-compose.yml'): Obj {
  return obj(interpolate(parseYaml(read(file), { uniqueKeys: true, merge: true }) as Yaml, env), file);
}

/** Sequences Compose merges across `-f` files (the rest, e.g. command and healthcheck.test, are replaced). */
const MERGED_SEQUENCES = new Set(['ports', 'volumes', 'secrets', 'expose', 'dns']);

/** `docker compose -f base -f overlay`: mappings merge key by key, as Compose merges files. */
function mergeCompose(base: Yaml, overlay: Yaml, key = ''): Yaml {
  if (Array.isArray(base) && Array.isArray(overlay) && MERGED_SEQUENCES.has(key))
    return [...base, ...overlay.filter((v) => !base.includes(v))];
  if (
    base !== null &&
    overlay !== null &&
    typeof base === 'object' &&
    typeof overlay === 'object' &&
    !Array.isArray(base) &&
    !Array.isArray(overlay)
  ) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(overlay)) out[k] = k in base ? mergeCompose(base[k]!, v, k) : v;
    return out;
  }
  return overlay;
}

const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

/** The npm script an exec-form command runs: ['npm','start',...] -> 'start'; ['npm','run','demo',...] -> 'demo'. */
function npmScript(command: string[]): { name: string; args: string[] } | null {
  if (command[0] !== 'npm') return null;
  const builtin = ['start', 'test', 'stop', 'restart'];
  const [name, rest] = builtin.includes(command[1]!)
    ? [command[1]!, command.slice(2)]
    : command[1] === 'run' || command[1] === 'run-script'
      ? [command[2]!, command.slice(3)]
      : [command[1]!, command.slice(2)];
  return { name, args: rest[0] === '--' ? rest.slice(1) : rest };
}

/**
 * Files a shell command line names, with the bundles it produces: `node scripts/bundle.mjs
 * ENTRY NAME` needs ENTRY and produces .build/NAME.mjs, which a later `node .build/NAME.mjs`
 * may run. Returns what is missing.
 */
function missingFiles(script: string): string[] {
  const missing: string[] = [];
  const produced = new Set<string>();
  for (const part of script.split(/&&|;|\|\|/)) {
    const words = part
      .trim()
      .split(/\s+/)
      .filter((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w) && w !== 'exec');
    if (words[0] === 'node' && words[1] === 'scripts/bundle.mjs') {
      for (const f of [words[1], words[2]!]) if (!existsSync(path.join(ROOT, f))) missing.push(f);
      produced.add(`.build/${words[3]}.mjs`);
      continue;
    }
    for (const w of words.slice(1)) {
      if (w.startsWith('-') || !/\.(m?[jt]s|sh|json|proto)$/.test(w)) continue;
      if (produced.has(w)) continue;
      if (!existsSync(path.join(ROOT, w))) missing.push(w);
    }
  }
  return missing;
}

// --- tests ---------------------------------------------------------------------------------

describe('Compose interpolation', () => {
  it('interpolates like Compose', () => {
    expect(interpolate('${A:-1}:${B-2}:${B:-3}:${C}:$$x', { B: '' })).toBe('1::3::$x');
    expect(interpolate(['${A:-1}'], { A: '9' })).toEqual(['9']);
  });
});

describe('the file check', () => {
  it('finds missing entries and runs of bundles that no earlier step produced', () => {
    expect(
      missingFiles('node scripts/bundle.mjs demo/nope.ts x && node .build/x.mjs && FOO=1 exec node .build/y.mjs'),
    ).toEqual(['demo/nope.ts', '.build/y.mjs']);
    expect(missingFiles(pkg.scripts.start!)).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const services = obj(compose().services, 'services');
  const server = obj(services.server, 'services.server');
  const worker = obj(services.worker, 'services.worker');

  it('has the services server and worker (in no profile), built from the Dockerfile at the root', () => {
    const always = Object.entries(services).filter(([, s]) => obj(s, 'service').profiles === undefined);
    expect(always.map(([name]) => name).sort()).toEqual(['server', 'worker']);
    for (const s of [server, worker]) {
      expect(s.build).toBe('.');
      expect(statSync(path.join(ROOT, 'Dockerfile')).isFile()).toBe(true);
    }
  });

  it('runs two workers: replicas of one service that claim their worker ids', () => {
    expect(obj(worker.deploy, 'worker.deploy').replicas).toBe(2);
    const cmd = strings(worker.command, 'worker.command');
    const args = npmScript(cmd)!.args;
    expect(args[0]).toBe('worker');
    expect(args[args.indexOf('--workers') + 1]).toBe('2');
    expect(args[args.indexOf('--worker-id') + 1]).toBe('auto');
    expect(read('demo/worker.ts')).toMatch(/export async function claimWorkerId/);
    const flags = demoWorkerFlags();
    for (const a of args.filter((x) => x.startsWith('--'))) expect(flags.has(a), `demo worker flag ${a}`).toBe(true);
  });

  it('every command names an npm script that exists, and every file those scripts name exists', () => {
    for (const name of Object.keys(services).filter((n) => n !== 'etcd')) {
      const s = obj(services[name], name);
      const cmd = strings(s.command, `${name}.command`);
      const script = npmScript(cmd);
      expect(script, `${name}: expected an npm command`).not.toBeNull();
      const text = pkg.scripts[script!.name];
      expect(text, `${name}: package.json has no script '${script!.name}'`).toBeTypeOf('string');
      expect(missingFiles(text!), `${name}: files named by npm script '${script!.name}'`).toEqual([]);
      expect(s.entrypoint, `${name}: no entrypoint override expected`).toBeUndefined();
    }
    expect(npmScript(strings(server.command, 'server.command'))!.name).toBe('start');
    expect(npmScript(strings(worker.command, 'worker.command'))!.name).toBe('demo');
    expect(existsSync(path.join(ROOT, 'demo/run.ts'))).toBe(true);
  });

  it('passes the server only flags it accepts, binding every interface', () => {
    const flags = serverFlags();
    expect(flags.has('--port')).toBe(true);
    const args = npmScript(strings(server.command, 'server.command'))!.args;
    for (const a of args.filter((x) => x.startsWith('--'))) expect(flags.has(a), `server flag ${a}`).toBe(true);
    expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0');
  });

  it('the port defaults to 50051 and follows GLUONPS_PORT everywhere it appears', () => {
    for (const [env, port] of [
      [{}, '50051'],
      [{ GLUONPS_PORT: '6000' }, '6000'],
    ] as const) {
      const s = obj(compose(env).services, 'services');
      const srv = obj(s.server, 'server');
      const wrk = obj(s.worker, 'worker');
      expect(srv.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      const sargs = strings(srv.command, 'server.command');
      expect(sargs[sargs.indexOf('--port') + 1]).toBe(port);
      const wargs = strings(wrk.command, 'worker.command');
      expect(wargs[wargs.indexOf('--server') + 1]).toBe(`server:${port}`);
      expect(strings(obj(srv.healthcheck, 'healthcheck').test, 'healthcheck.test').at(-1)).toBe(port);
    }
  });

  it('publishes on 127.0.0.1 unless GLUONPS_PUBLISH_ADDR says otherwise, and the server starts unauthenticated only with GLUONPS_INSECURE (1 by default)', () => {
    const server = (env: Record<string, string>) => obj(obj(compose(env).services, 'services').server, 'server');
    expect(server({}).ports).toEqual(['127.0.0.1:50051:50051']);
    expect(server({ GLUONPS_PUBLISH_ADDR: '0.0.0.0' }).ports).toEqual(['0.0.0.0:50051:50051']);
    // What the server makes of its command and environment: would it start?
    const starts = (env: Record<string, string>): boolean => {
      const srv = server(env);
      const { options } = parseCommandLine(
        npmScript(strings(srv.command, 'server.command'))!.args,
        obj(srv.environment, 'server.environment') as Record<string, string>,
      );
      return exposureRefusal(options.host!, options.auth !== undefined, 'off') === null || options.insecure === true;
    };
    expect(starts({})).toBe(true);
    expect(starts({ GLUONPS_INSECURE: '0', GLUONPS_PUBLISH_ADDR: '0.0.0.0' })).toBe(false);
  });

  it('mounts a named data volume at /data, its name from GLUONPS_DATA_VOLUME (default gluonps-data)', () => {
    for (const [env, name] of [
      [{}, 'gluonps-data'],
      [{ GLUONPS_DATA_VOLUME: 'ps-data' }, 'ps-data'],
    ] as const) {
      const doc = compose(env);
      const srv = obj(obj(doc.services, 'services').server, 'server');
      const mounts = strings(srv.volumes, 'server.volumes');
      const data = mounts.find((m) => m.split(':')[1] === '/data');
      expect(data, 'a mount at /data').toBeDefined();
      const key = data!.split(':')[0]!;
      expect(obj(obj(doc.volumes, 'volumes')[key], `volumes.${key}`).name).toBe(name);
    }
  });

  it('passes --data-dir /data exactly when the server supports it', () => {
    const supports = serverFlags().has('--data-dir');
    const args = npmScript(strings(server.command, 'server.command'))!.args;
    // Without durability (no --data-dir yet) the volume is mounted but unused; once the flag
    // exists this fails until the command passes it.
    expect(
      args.includes('--data-dir'),
      supports ? 'add "--data-dir", "/data" to the server command' : 'the server has no --data-dir yet',
    ).toBe(supports);
    if (supports) expect(args[args.indexOf('--data-dir') + 1]).toBe('/data');
  });

  it('workers wait for a healthy server, whose health check runs a program the image has', () => {
    expect(obj(obj(worker.depends_on, 'worker.depends_on').server, 'depends_on.server').condition).toBe(
      'service_healthy',
    );
    const test = strings(obj(server.healthcheck, 'server.healthcheck').test, 'healthcheck.test');
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', 'tools/healthcheck.mjs']);
    expect(existsSync(path.join(ROOT, test[2]!)), test[2]).toBe(true);
  });

  it('both services run one image, gluon-ps:latest unless GLUONPS_IMAGE names another', () => {
    for (const [env, image] of [
      [{}, 'gluon-ps:latest'],
      [{ GLUONPS_IMAGE: 'gluon-ps:test' }, 'gluon-ps:test'],
    ] as const) {
      const s = obj(compose(env).services, 'services');
      for (const name of ['server', 'worker']) expect(obj(s[name], name).image).toBe(image);
    }
  });
});

describe('docker-compose.yml, the cluster profile', () => {
  const services = obj(compose().services, 'services');
  const profile = Object.keys(services).filter((n) => {
    const p = obj(services[n], n).profiles;
    return Array.isArray(p) && p.includes('cluster');
  });
  const shards = profile.filter((n) => /^shard\d+$/.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const etcd = obj(services.etcd, 'etcd');
  const worker = obj(services['cluster-worker'], 'cluster-worker');
  const commandArgs = (s: Obj, name: string): string[] => npmScript(strings(s.command, `${name}.command`))!.args;
  /** etcd's client URL as the other containers reach it: its --advertise-client-urls. */
  const etcdUrl = (e: Obj): URL => new URL(flagValue(strings(e.command, 'etcd.command'), '--advertise-client-urls')!);

  it('is etcd, three shards and the workers, none of them started by a plain `docker compose up`', () => {
    expect([...profile].sort()).toEqual(['cluster-worker', 'etcd', 'shard0', 'shard1', 'shard2']);
    for (const name of ['server', 'worker']) expect(obj(services[name], name).profiles).toBeUndefined();
  });

  it('starts shard i as --shard-index i of as many shards as there are, one cluster, registered in etcd by its service name', () => {
    const url = etcdUrl(etcd);
    const listen = new URL(flagValue(strings(etcd.command, 'etcd.command'), '--listen-client-urls')!);
    expect(url.port, "etcd's advertised port is the one it listens on").toBe(listen.port);
    expect(url.hostname, 'etcd advertises its service name').toBe('etcd');
    const mounts = new Set<string>();
    const hosts = new Set<string>();
    for (const [i, name] of shards.entries()) {
      const s = obj(services[name], name);
      const args = commandArgs(s, name);
      for (const a of args.filter((x) => x.startsWith('--')))
        expect(serverFlags().has(a), `${name}: flag ${a}`).toBe(true);
      const env = obj(s.environment, `${name}.environment`) as Record<string, string>;
      const { options } = parseCommandLine(args, env);
      expect(options.shard, name).toMatchObject({ index: i, count: shards.length, cluster: 'demo' });
      expect(options.host).toBe('0.0.0.0');
      expect(options.insecure || exposureRefusal(options.host!, options.auth !== undefined, 'off') === null).toBe(true);
      expect(options.dataDir).toBe('/data');
      expect(flagValue(args, '--etcd'), `${name} registers in the compose file's etcd`).toBe(url.origin);
      expect(flagValue(args, '--advertise'), `${name} advertises the name other containers reach it by`).toBe(
        `${name}:${options.port}`,
      );
      expect(s.ports).toEqual([`127.0.0.1:${50061 + i}:${options.port}`]);
      const test = strings(obj(s.healthcheck, `${name}.healthcheck`).test, 'healthcheck.test');
      expect(test.slice(0, 3)).toEqual(['CMD', 'node', 'tools/healthcheck.mjs']);
      expect(test.at(-1), `${name}: the health check probes its port`).toBe(String(options.port));
      expect(obj(obj(s.depends_on, `${name}.depends_on`).etcd, 'depends_on.etcd').condition).toBe('service_healthy');
      const data = strings(s.volumes, `${name}.volumes`).find((m) => m.split(':')[1] === '/data');
      expect(data, `${name}: a volume at /data`).toBeDefined();
      const volume = data!.split(':')[0]!;
      expect(obj(compose().volumes, 'volumes')).toHaveProperty(volume);
      mounts.add(volume);
      hosts.add(String(s.hostname));
      expect(s.restart).toBe('unless-stopped');
    }
    expect(mounts.size, 'every shard its own data volume').toBe(shards.length);
    expect(hosts.size, 'every shard its own host name (the data dir lock names it)').toBe(shards.length);
  });

  it('the workers find the shards through etcd by the cluster name, after every shard is healthy', () => {
    const args = commandArgs(worker, 'cluster-worker');
    expect(args[0]).toBe('worker');
    const flags = demoWorkerFlags();
    for (const a of args.filter((x) => x.startsWith('--'))) expect(flags.has(a), `demo worker flag ${a}`).toBe(true);
    const target = serverTarget(flagValue(args, '--server')!);
    expect(target).toBe(`etcd://${etcdUrl(etcd).host}/demo`);
    expect(obj(worker.deploy, 'cluster-worker.deploy').replicas).toBe(Number(flagValue(args, '--workers')));
    expect(flagValue(args, '--worker-id')).toBe('auto');
    const deps = obj(worker.depends_on, 'cluster-worker.depends_on');
    expect(Object.keys(deps).sort()).toEqual(shards);
    for (const d of Object.values(deps)) expect(obj(d, 'depends_on').condition).toBe('service_healthy');
    expect(worker.image).toBe(obj(services.server, 'server').image);
  });

  it('GLUONPS_CLUSTER names the cluster in every shard and worker; GLUONPS_SHARDi_PORT moves shard i', () => {
    const s = obj(compose({ GLUONPS_CLUSTER: 'blue', GLUONPS_SHARD1_PORT: '7001' }).services, 'services');
    for (const name of shards) expect(flagValue(commandArgs(obj(s[name], name), name), '--cluster'), name).toBe('blue');
    expect(flagValue(commandArgs(obj(s['cluster-worker'], 'w'), 'cluster-worker'), '--server')).toMatch(/\/blue$/);
    expect(obj(s.shard1, 'shard1').ports).toEqual(['127.0.0.1:7001:50051']);
    expect(obj(s.shard0, 'shard0').ports).toEqual(['127.0.0.1:50061:50051']);
  });

  it("etcd is Debian's etcd-server built from deploy/etcd, checked with etcdctl, its data in a volume", () => {
    expect(etcd.build).toBe('deploy/etcd');
    const dockerfile = read('deploy/etcd/Dockerfile').replace(/\\\n/g, ' ');
    expect(dockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\betcd-server\b[^\n]*\betcd-client\b/);
    expect(etcd.image).toBe('gluon-ps-etcd:latest');
    expect(obj(obj(compose({ GLUONPS_ETCD_IMAGE: 'e:1' }).services, 's').etcd, 'etcd').image).toBe('e:1');
    const test = strings(obj(etcd.healthcheck, 'etcd.healthcheck').test, 'etcd.healthcheck.test');
    expect(test.slice(0, 2)).toEqual(['CMD', 'etcdctl']);
    const cmd = strings(etcd.command, 'etcd.command');
    expect(cmd[0]).toBe('etcd');
    const dataDir = flagValue(cmd, '--data-dir')!;
    const mount = strings(etcd.volumes, 'etcd.volumes').find((m) => dataDir.startsWith(`${m.split(':')[1]}/`));
    expect(mount, `a volume holding etcd's --data-dir ${dataDir}`).toBeDefined();
  });
});

describe("the demo worker's --server", () => {
  it('is one server, every shard of a cluster in order, or an etcd URL (whose commas list etcd endpoints)', () => {
    expect(serverTarget('server:50051')).toBe('server:50051');
    expect(serverTarget('a:1,b:2, c:3')).toEqual(['a:1', 'b:2', 'c:3']);
    expect(serverTarget('etcd://e1:2379,e2:2379/demo')).toBe('etcd://e1:2379,e2:2379/demo');
  });
});

describe('Dockerfile and .dockerignore', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const joined = read('Dockerfile').replace(/\\\n/g, ' ');

  // The stages: lines from each FROM to the next.
  const froms = lines.flatMap((l, i) => (l.startsWith('FROM ') ? [i] : []));
  const stages = froms.map((at, k) => lines.slice(at, froms[k + 1]));
  const final = stages.at(-1)!;

  it('builds in a node:20-bookworm stage with the addon toolchain and npm ci, and starts the server on every interface', () => {
    expect(stages).toHaveLength(2);
    expect(lines[0]).toBe('FROM node:20-bookworm AS build');
    expect(joined).toMatch(/apt-get install[^\n]*\bpython3\b[^\n]*\bmake\b[^\n]*\bg\+\+/);
    expect(stages[0]).toContain('RUN npm ci');
    const cmd = final.filter((l) => l.startsWith('CMD '));
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]!.slice(4))).toEqual(['npm', 'start', '--', '--host', '0.0.0.0']);
    expect(pkg.scripts.start).toBeTypeOf('string');
  });

  it('copies only files that exist, and the addon sources before npm ci (its install script compiles them)', () => {
    const copies = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    for (const c of copies) {
      const parts = c
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) expect(existsSync(path.join(ROOT, src)), `COPY source ${src}`).toBe(true);
    }
    const ci = lines.indexOf('RUN npm ci');
    const before = lines.slice(0, ci).join('\n');
    expect(before).toMatch(/COPY package\.json package-lock\.json/);
    expect(before).toMatch(/COPY native\//);
    expect(pkg.scripts.install).toMatch(/--directory native/);
    for (const run of lines.filter((l) => l.startsWith('RUN node ')))
      expect(missingFiles(run.slice(4).replace(/\\/g, ' '))).toEqual([]);
  });

  it('the final stage starts from the slim image, copies the built tree, installs no compiler and runs as node', () => {
    expect(final[0]).toBe('FROM node:20-bookworm-slim');
    expect(final.some((l) => /^COPY --from=build /.test(l))).toBe(true);
    expect(final.join('\n')).not.toMatch(/apt-get|g\+\+|\bgcc\b|\bmake\b|npm ci/);
    const users = final.filter((l) => l.startsWith('USER '));
    expect(users).toEqual(['USER node']);
    expect(final.indexOf('USER node')).toBeLessThan(final.findIndex((l) => l.startsWith('CMD ')));
  });

  it('.dockerignore keeps host installs and build outputs out of the image', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['node_modules', 'native/build', '.build', '.git']) expect(ignored).toContain(p);
  });
});

describe('docker-compose.secure.yml (tokens and TLS on top of docker-compose.yml)', () => {
  // Real secrets from tools/make-secrets.sh, in a temporary GLUONPS_SECRETS_DIR.
  const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('bash', [path.join(ROOT, 'tools/make-secrets.sh'), path.join(dir, 'secrets')], { stdio: 'pipe' });
  const env = { GLUONPS_SECRETS_DIR: path.join(dir, 'secrets'), GLUONPS_PUBLISH_ADDR: '0.0.0.0' };
  const overlay = compose(env, 'docker-compose.secure.yml');
  const merged = obj(mergeCompose(compose(env), overlay), 'merged');
  const services = obj(merged.services, 'services');
  const secrets = obj(merged.secrets, 'secrets');
  /** A service's environment with every /run/secrets/NAME path replaced by the host file Compose mounts there. */
  const hostEnv = (service: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(obj(obj(services[service], service).environment, `${service}.environment`)).map(([k, v]) => {
        const m = /^\/run\/secrets\/(\w+)$/.exec(String(v));
        if (m === null) return [k, String(v)];
        const used = strings(obj(services[service], service).secrets, `${service}.secrets`);
        expect(used, `${service} mounts the secret ${m[1]}`).toContain(m[1]);
        return [k, String(obj(secrets[m[1]!], `secrets.${m[1]}`).file)];
      }),
    );

  it('overlays only services of docker-compose.yml, and every secret it mounts is a file make-secrets.sh wrote', () => {
    const base = obj(compose().services, 'services');
    for (const name of Object.keys(obj(overlay.services, 'services'))) expect(base).toHaveProperty(name);
    expect(Object.keys(secrets).sort()).toEqual([
      'gluonps_tls_ca',
      'gluonps_tls_cert',
      'gluonps_tls_key',
      'gluonps_tokens',
    ]);
    for (const [name, s] of Object.entries(secrets)) {
      const file = String(obj(s, name).file);
      expect(file.startsWith(env.GLUONPS_SECRETS_DIR), `${name} follows GLUONPS_SECRETS_DIR`).toBe(true);
      expect(statSync(file).isFile(), `${name}: ${file}`).toBe(true);
    }
    expect(read('.dockerignore').split('\n')).toContain('secrets');
    expect(pkg.scripts['make-secrets']).toBe('bash tools/make-secrets.sh');
  });

  it('the server it configures serves TLS with tokens on every interface, published on GLUONPS_PUBLISH_ADDR', () => {
    const server = obj(services.server, 'server');
    expect(server.ports).toEqual(['0.0.0.0:50051:50051']);
    const { options } = parseCommandLine(npmScript(strings(server.command, 'server.command'))!.args, hostEnv('server'));
    expect(options.host).toBe('0.0.0.0');
    expect(options.insecure).not.toBe(true);
    expect(options.auth?.tokens).toHaveLength(1);
    expect(options.tls?.cert.toString()).toMatch(/BEGIN CERTIFICATE/);
    expect(exposureRefusal(options.host!, true, 'tls')).toBeNull();
    // The health check probes over TLS, trusting the CA the server's certificate chains to.
    const test = strings(obj(server.healthcheck, 'healthcheck').test, 'healthcheck.test');
    expect(test.slice(0, 5)).toEqual([
      'CMD',
      'node',
      'tools/healthcheck.mjs',
      '--tls-ca',
      '/run/secrets/gluonps_tls_ca',
    ]);
    expect(strings(server.secrets, 'server.secrets')).toContain('gluonps_tls_ca');
    expect(read('tools/healthcheck.mjs')).toMatch(/'tls-ca': \{ type: 'string' \}/);
  });

  it("the workers send one of the server's tokens and trust the CA that signed its certificate", () => {
    const worker = securityFromEnv(hostEnv('worker'));
    const { options } = parseCommandLine(
      npmScript(strings(obj(services.server, 'server').command, 'server.command'))!.args,
      hostEnv('server'),
    );
    expect(options.auth?.tokens).toContain(worker.token);
    const ca = (worker.tls as { ca: Buffer }).ca;
    const certFile = path.join(dir, 'server-cert.pem');
    execFileSync('bash', ['-c', 'cat > "$1"', '_', certFile], { input: options.tls!.cert });
    const caFile = path.join(dir, 'ca.pem');
    execFileSync('bash', ['-c', 'cat > "$1"', '_', caFile], { input: ca });
    // Signed by the CA, and valid for the name the workers dial (`server`) and the probe's (localhost).
    execFileSync('openssl', ['verify', '-CAfile', caFile, '-verify_hostname', 'server', certFile]);
    execFileSync('openssl', ['verify', '-CAfile', caFile, '-verify_hostname', 'localhost', certFile]);
  });
});
