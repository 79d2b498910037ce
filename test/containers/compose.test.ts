// The container tier: docker-compose.yml, as a user runs it, against the image built from the
// Dockerfile (scripts/test-containers.sh builds it and sets GLUONPS_CT_IMAGE; without that this
// file is skipped, so plain `vitest run` passes on machines without Docker). Each test is its
// own Compose project (own network, own data volume, a free published port) and takes it down
// with its volumes afterwards.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { stepsPerEpoch } from '../../demo/data';
import { DEFAULT_EPOCHS, MF_RECIPE, MLP_RECIPE, workerBatch } from '../../demo/recipes';
import { ROOT } from '../fixtures/bundled-module';
import { connect, Status } from '../../client/index';
import { freePort } from '../fixtures/free-port';

const execFileP = promisify(execFile);
const IMAGE = process.env.GLUONPS_CT_IMAGE;
const ETCD_IMAGE = process.env.GLUONPS_CT_ETCD_IMAGE;
const RUN = process.env.GLUONPS_CT_RUN ?? `ct${process.pid}`;
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const SECURE_FILE = path.join(ROOT, 'docker-compose.secure.yml');
const WORKERS = 2; // docker-compose.yml: worker replicas and --workers

/** What every worker must end at: the trainers' step counts after DEFAULT_EPOCHS epochs. */
const EXPECTED_STEPS = {
  mlp: DEFAULT_EPOCHS * stepsPerEpoch(MLP_RECIPE.data.n, WORKERS, workerBatch(MLP_RECIPE.globalBatch, WORKERS)),
  mf: DEFAULT_EPOCHS * stepsPerEpoch(MF_RECIPE.data.n, WORKERS, workerBatch(MF_RECIPE.globalBatch, WORKERS)),
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function docker(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await execFileP('docker', args, {
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** One Compose project of docker-compose.yml with its own name, port and data volume. */
class Project {
  readonly name: string;
  readonly env: Record<string, string>;

  constructor(
    tag: string,
    readonly port: number,
    readonly files: string[] = [COMPOSE_FILE],
    extraEnv: Record<string, string> = {},
  ) {
    this.name = `gluonps-${RUN}-${tag}`;
    this.env = {
      GLUONPS_IMAGE: IMAGE!,
      GLUONPS_PORT: String(port),
      GLUONPS_DATA_VOLUME: `${this.name}-data`,
      ...extraEnv,
    };
  }

  compose(args: string[], timeoutMs?: number): Promise<string> {
    const files = this.files.flatMap((f) => ['-f', f]);
    return docker(['compose', ...files, '-p', this.name, ...args], this.env, timeoutMs);
  }

  async ids(service: string): Promise<string[]> {
    return (await this.compose(['ps', '-a', '-q', service])).split('\n').filter((l) => l !== '');
  }

  async inspect(id: string): Promise<ContainerInfo> {
    return (JSON.parse(await docker(['inspect', id])) as ContainerInfo[])[0]!;
  }

  async logs(id: string): Promise<string> {
    const { stdout, stderr } = await execFileP('docker', ['logs', id], { maxBuffer: 64 << 20 });
    return stdout + stderr;
  }

  async waitHealthy(timeoutMs = 90_000, service = 'server'): Promise<ContainerInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [id] = await this.ids(service);
      if (id !== undefined) {
        const info = await this.inspect(id);
        if (info.State.Health?.Status === 'healthy') return info;
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: ${service} did not become healthy`);
      await sleep(1000);
    }
  }

  /** Waits until every worker container has exited; returns their exit codes and logs. */
  async waitWorkers(timeoutMs: number, service = 'worker'): Promise<{ id: string; exitCode: number; log: string }[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = await this.ids(service);
      const infos = await Promise.all(ids.map((id) => this.inspect(id)));
      if (ids.length === WORKERS && infos.every((i) => i.State.Status === 'exited'))
        return Promise.all(
          infos.map(async (i) => ({ id: i.Id, exitCode: i.State.ExitCode, log: await this.logs(i.Id) })),
        );
      if (Date.now() > deadline) throw new Error(`${this.name}: the workers did not finish in ${timeoutMs} ms`);
      await sleep(2000);
    }
  }

  /** Mid-training: waits until every worker has logged its first MLP epoch. */
  async waitFirstEpoch(service = 'worker', timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const logs = await Promise.all((await this.ids(service)).map((id) => this.logs(id)));
      if (logs.length === WORKERS && logs.every((l) => /^mlp\s+epoch\s+1\//m.test(l))) return;
      if (Date.now() > deadline) throw new Error(`no ${service} finished an MLP epoch:\n${logs.join('\n')}`);
      await sleep(500);
    }
  }

  /** Removes every container of the project (`run` ones too), its network and its volume. */
  async down(): Promise<void> {
    const ids = (await docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.name}`]))
      .split('\n')
      .filter((l) => l !== '');
    if (ids.length > 0) await docker(['rm', '-f', ...ids]).catch(() => undefined);
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '5']).catch(() => undefined);
    await docker(['volume', 'rm', '-f', this.env.GLUONPS_DATA_VOLUME!]).catch(() => undefined);
  }
}

interface ContainerInfo {
  Id: string;
  Config: { User: string; Hostname: string };
  State: {
    Status: string;
    ExitCode: number;
    Health?: { Status: string; Log: { ExitCode: number; Output: string }[] };
  };
}

/** A worker's progress lines (demo/progress.ts formatEpochLine, non-TTY) and its `done` notes. */
function parseWorker(log: string): {
  losses: Record<string, number[]>;
  steps: Record<string, number[]>;
  done: Record<string, number>;
} {
  const losses: Record<string, number[]> = { mlp: [], mf: [] };
  const steps: Record<string, number[]> = { mlp: [], mf: [] };
  const done: Record<string, number> = {};
  for (const line of log.split('\n')) {
    const e = /^(mlp|mf)\s+epoch\s+(\d+)\/\d+\s+loss\s+(\S+).*\sstep (\d+)/.exec(line);
    if (e) {
      losses[e[1]!]![Number(e[2])] = Number(e[3]);
      steps[e[1]!]![Number(e[2])] = Number(e[4]);
    }
    const d = /^(mlp|mf) done: (\d+) steps/.exec(line);
    if (d) done[d[1]!] = Number(d[2]);
  }
  return { losses, steps, done };
}

/**
 * The demo's own targets: each model's loss over the whole data set (the mean over the workers'
 * equal shards) ends at <= 0.2 x its initial value; and every worker ends at exactly the
 * expected number of applied steps, each epoch's evaluation after exactly its share of steps
 * (a step lost or applied twice would shift them).
 */
function expectTrained(workers: { exitCode: number; log: string }[]): void {
  const parsed = workers.map((w) => parseWorker(w.log));
  for (const [k, w] of workers.entries())
    expect(w.exitCode, `worker ${k} exit code; its log:\n${w.log.slice(-3000)}`).toBe(0);
  for (const model of ['mlp', 'mf'] as const) {
    const mean = (epoch: number): number => parsed.reduce((t, p) => t + p.losses[model]![epoch]!, 0) / parsed.length;
    const first = mean(0);
    const last = mean(DEFAULT_EPOCHS);
    expect(Number.isFinite(first) && Number.isFinite(last), `${model}: initial and final losses`).toBe(true);
    expect(last / first, `${model}: final/initial loss ${last}/${first}`).toBeLessThanOrEqual(0.2);
    const perEpoch = EXPECTED_STEPS[model] / DEFAULT_EPOCHS;
    for (const p of parsed) {
      expect(p.done[model], `${model}: steps at the end`).toBe(EXPECTED_STEPS[model]);
      expect(p.steps[model]).toEqual(Array.from({ length: DEFAULT_EPOCHS + 1 }, (_, e) => e * perEpoch));
    }
  }
}

describe.skipIf(IMAGE === undefined)('docker compose (docker-compose.yml, the image from ./Dockerfile)', () => {
  let project: Project | undefined;
  afterEach(async () => {
    await project?.down();
    project = undefined;
  });

  it('the image runs as a non-root user, has no compiler in its final stage, and its size is reported', async () => {
    const [info] = JSON.parse(await docker(['image', 'inspect', IMAGE!])) as {
      Size: number;
      Config: { User: string };
    }[];
    expect(info!.Config.User).toBe('node');
    const probe = await docker([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      IMAGE!,
      '-c',
      'id -u; for c in cc gcc g++ c++ clang make python3; do command -v $c || true; done; ' +
        'ls /usr/bin | grep -E "^(x86_64-linux-gnu-)?(gcc|g\\+\\+|cc1|cpp)(-[0-9]+)?$" || true',
    ]);
    const [uid, ...found] = probe.trim().split('\n');
    expect(Number(uid)).not.toBe(0);
    expect(
      found.filter((l) => l !== ''),
      'compilers or build tools in the final image',
    ).toEqual([]);
    console.log(
      `image ${IMAGE}: ${(info!.Size / 1e6).toFixed(0)} MB` +
        (process.env.GLUONPS_CT_BUILD_SECONDS ? `, built in ${process.env.GLUONPS_CT_BUILD_SECONDS} s` : ''),
    );
  });

  it('`up` trains both demo models to their loss targets with two worker replicas; health checks say SERVING', async () => {
    project = new Project('train', await freePort());
    await project.compose(['up', '--detach', '--no-build'], 180_000);
    const server = await project.waitHealthy();
    const health = server.State.Health!.Log.filter((l) => l.ExitCode === 0).map((l) => l.Output.trim());
    expect(health.at(-1)).toMatch(/: SERVING$/);
    expect(server.Config.User).toBe('node');
    const workers = await project.waitWorkers(240_000);
    expectTrained(workers);
  });

  it('`kill -s KILL server` mid-training, then `up` again: the server recovers from its volume, every step applied once', async () => {
    project = new Project('kill', await freePort());
    await project.compose(['up', '--detach', '--no-build'], 180_000);
    await project.waitHealthy();
    await project.waitFirstEpoch();
    await project.compose(['kill', '-s', 'KILL', 'server']);
    const [serverId] = await project.ids('server');
    expect((await project.inspect(serverId!)).State.Status).not.toBe('running');
    await project.compose(['up', '--detach', '--no-build'], 180_000);
    await project.waitHealthy();
    const log = await project.logs(serverId!);
    expect(log, 'the restarted server took over the killed one’s data dir lock').toMatch(/stale data dir lock/);
    expectTrained(await project.waitWorkers(240_000));
  });

  it('the cluster profile: etcd, three shards and two workers train both models; a shard killed with SIGKILL mid-training comes back', async () => {
    expect(ETCD_IMAGE, 'scripts/test-containers.sh builds the etcd image').toBeDefined();
    const ports = [await freePort(), await freePort(), await freePort()];
    const shards = ports.map((_, i) => `shard${i}`);
    project = new Project('cluster', ports[0]!, [COMPOSE_FILE], {
      COMPOSE_PROFILES: 'cluster',
      GLUONPS_ETCD_IMAGE: ETCD_IMAGE!,
      GLUONPS_CLUSTER: 'ct',
      ...Object.fromEntries(ports.map((p, i) => [`GLUONPS_SHARD${i}_PORT`, String(p)])),
    });
    // The workers' dependencies: etcd, then the shards, then the workers.
    await project.compose(['up', '--detach', '--no-build', 'cluster-worker'], 240_000);
    for (const s of shards) await project.waitHealthy(90_000, s);
    const [etcdId] = await project.ids('etcd');
    expect((await project.inspect(etcdId!)).State.Health?.Status).toBe('healthy');

    await project.waitFirstEpoch('cluster-worker');
    await project.compose(['kill', '-s', 'KILL', 'shard1']);
    const [killed] = await project.ids('shard1');
    expect((await project.inspect(killed!)).State.Status).not.toBe('running');
    // From the host, by the published ports (static membership): a cluster with shard 1 down
    // cannot be opened, and the error names the shard.
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    await expect(connect(addresses, { cluster: 'ct', connectTimeoutMs: 3000 })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      message: expect.stringContaining(`shard 1 (${addresses[1]})`),
    });
    await project.compose(['up', '--detach', '--no-build', 'shard1'], 180_000);
    await project.waitHealthy(90_000, 'shard1');
    expect(await project.logs(killed!), 'the restarted shard took over the killed one’s data dir lock').toMatch(
      /stale data dir lock/,
    );

    expectTrained(await project.waitWorkers(360_000, 'cluster-worker'));
    const ps = await connect(addresses, { cluster: 'ct', connectTimeoutMs: 10_000 });
    try {
      const c = await ps.cluster();
      expect(c.shards.map((s) => [s.index, s.serving])).toEqual([
        [0, true],
        [1, true],
        [2, true],
      ]);
      expect((await ps.list()).map((p) => p.name)).toEqual(
        expect.arrayContaining(['mlp_dense0_weight', 'mlp_dense1_bias', 'mf_user_weight', 'mf_item_weight']),
      );
    } finally {
      await ps.close();
    }
  }, 600_000);

  it('a second server container on the same volume is refused while the first runs', async () => {
    project = new Project('lock', await freePort());
    await project.compose(['up', '--detach', '--no-build', 'server'], 180_000);
    await project.waitHealthy();
    // What a user could do by mistake: another server of this project (same service, same
    // volume, same host name, so the lock's host matches), on another port. It must exit
    // non-zero within the lock's staleness window, not serve.
    const other = String(await freePort());
    const cmd = ['npm', 'start', '--', '--host', '0.0.0.0', '--port', other, '--data-dir', '/data'];
    const err = await project.compose(['run', '--rm', '--no-deps', '-T', 'server', ...cmd], 60_000).then(
      () => new Error('the second server exited 0'),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/data dir \/data is in use by process \d+ in another container/);
    // The first server is unharmed.
    await project.waitHealthy(10_000);
  });

  it('TLS + token mode (docker-compose.secure.yml, secrets from make-secrets): trains; plaintext and token-less clients are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-ct-secrets-'));
    try {
      const secrets = path.join(dir, 'secrets');
      // Run as root here, so the files are given to uid 1000, the image's user.
      execFileSync('bash', [path.join(ROOT, 'tools/make-secrets.sh'), secrets], { stdio: 'pipe' });
      project = new Project('secure', await freePort(), [COMPOSE_FILE, SECURE_FILE], { GLUONPS_SECRETS_DIR: secrets });
      await project.compose(['up', '--detach', '--no-build'], 180_000);
      const server = await project.waitHealthy();
      const health = server.State.Health!.Log.filter((l) => l.ExitCode === 0).map((l) => l.Output.trim());
      expect(health.at(-1)).toMatch(/^gluon-ps at localhost:\d+ \(TLS\): SERVING$/);
      expectTrained(await project.waitWorkers(240_000));

      const address = `127.0.0.1:${project.port}`;
      const ca = readFileSync(path.join(secrets, 'tls/ca-cert.pem'));
      const token = readFileSync(path.join(secrets, 'gluonps-tokens'), 'utf8').split('\n')[0]!.trim();
      // Plaintext cannot even connect to a TLS port.
      await expect(connect(address, { connectTimeoutMs: 3000 })).rejects.toThrow();
      // TLS without the token: the call is refused, naming the missing credential.
      const anonymous = await connect(address, { tls: { ca }, connectTimeoutMs: 10_000 });
      try {
        await expect(anonymous.list()).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
      } finally {
        await anonymous.close();
      }
      // TLS and the token: the trained parameters are there.
      const ps = await connect(address, { tls: { ca }, token, connectTimeoutMs: 10_000 });
      try {
        expect((await ps.list()).length).toBeGreaterThan(0);
      } finally {
        await ps.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
