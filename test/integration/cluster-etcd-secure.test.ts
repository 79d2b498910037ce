// Securing etcd (docs/cluster.md, "Securing etcd"), against a real etcd (etcd-harness.ts) and
// shard processes of the real server CLI on loopback, one etcd per mode:
// - TLS with client certificates (etcd's --client-cert-auth, certificates from a test CA):
//   shards started with https:// endpoints, --etcd-ca, --etcd-cert and --etcd-key register, and
//   an etcds:// client with options.etcd finds them and trains; a wrong CA or no client
//   certificate is refused at start (exit status 2, naming etcd and the reason) and fails the
//   client with UNAVAILABLE naming etcd;
// - authentication (a root user, a user whose role covers only the cluster's prefix, a worker
//   user that may only read it, then `auth enable`, as docs/cluster.md shows): shards with
//   --etcd-user and --etcd-password-file register, a client with the worker's user trains; a wrong password or no user is refused at start and
//   fails the client UNAUTHENTICATED naming etcd, another cluster's prefix PERMISSION_DENIED;
//   the worker's token opens a watch; a token etcd invalidated (the user's password set again)
//   is fetched again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3, Range } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as gluonps } from '../../client/cli';
import { EtcdConnection } from '../../client/cluster/etcd-wire';
import { connect, GluonPsError, init, Status } from '../../client/index';
import type { EtcdClusterConnectOptions, EtcdConnectOptions, ParameterServerClient } from '../../client/index';
import { caSigned, makeCa, type CertPair } from '../fixtures/certs';
import { killAll, spawnServer, startServer, useServerBundle, type ServerProcess } from './crash-harness';
import { startEtcd, type Etcd } from './etcd-harness';

const bundle = useServerBundle('cluster-etcd-secure');
const work = mkdtempSync(path.join(tmpdir(), 'gluonps-etcd-secure-'));

afterAll(() => {
  killAll();
  rmSync(work, { recursive: true, force: true });
});

function shardArgs(cluster: string, index: number, etcdUrl: string, more: string[]): string[] {
  return [
    '--shard-index',
    String(index),
    '--num-shards',
    '2',
    '--cluster',
    cluster,
    '--etcd',
    etcdUrl,
    '--etcd-lease-seconds',
    '2',
    ...more,
  ];
}

/** A server expected to be refused at start: its exit code and stderr. */
async function refusedStart(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const srv = spawnServer(bundle, { dataDir: 'none', args });
  const { code } = await srv.exited;
  return { code, stderr: srv.stderr };
}

/** A client's connect() expected to fail: the GluonPsError. */
async function refusedConnect(target: string, options: EtcdClusterConnectOptions): Promise<GluonPsError> {
  const err = await connect(target as `etcd://${string}`, { connectTimeoutMs: 3000, ...options }).then(
    async (ps) => {
      await ps.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GluonPsError);
  return err as GluonPsError;
}

/** The gluonps CLI in this process: its exit status and what it printed. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  const code = await gluonps([...args, '--json', '--connect-timeout-ms', '3000'], {}, out);
  return { code, stdout, stderr };
}

/** Declares, trains one SGD step and reads back: what a worker does. */
async function trains(ps: ParameterServerClient, name: string): Promise<void> {
  const w = await ps.parameter(name, { shape: [4], init: init.one() });
  await w.initialize();
  const tr = await ps.trainer(`${name}_t`, [w], 'sgd', { learningRate: 0.5 });
  await tr.pushGrad(w, { shape: [4], dtype: 'float32', data: Float32Array.from([2, 4, 6, 8]) });
  await tr.step(2);
  expect([...(await w.data()).data]).toEqual([0.5, 0, -0.5, -1]);
  expect((await ps.cluster()).shards.map((s) => s.serving)).toEqual([true, true]);
}

describe('etcd over TLS with client certificates', () => {
  let etcd: Etcd;
  let ca: CertPair;
  let client: CertPair;
  let otherCa: CertPair;
  const shards: ServerProcess[] = [];
  let tlsArgs: string[];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(work, 'tls-'));
    ca = makeCa(dir, 'ca');
    const server = caSigned(dir, ca, 'etcd', 'etcd');
    client = caSigned(dir, ca, 'shard', 'gluonps-shard');
    otherCa = makeCa(dir, 'other-ca');
    etcd = await startEtcd({
      certFile: server.certFile,
      keyFile: server.keyFile,
      caFile: ca.certFile,
      clientCertAuth: true,
      reader: { tls: { ca: ca.cert, cert: client.cert, key: client.key } },
    });
    tlsArgs = ['--etcd-ca', ca.certFile, '--etcd-cert', client.certFile, '--etcd-key', client.keyFile];
    for (const i of [0, 1])
      shards.push(await startServer(bundle, { dataDir: 'none', args: shardArgs('tls', i, etcd.url, tlsArgs) }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.stop()));
    await etcd?.stop();
  });

  it('registers the shards over https://, and an etcds:// client with a certificate finds them and trains', async () => {
    expect(etcd.url).toMatch(/^https:\/\//);
    const members = await etcd.read('/gluonps/tls/members/');
    expect(members.map((m) => m.key)).toEqual(['/gluonps/tls/members/0', '/gluonps/tls/members/1']);
    const ps = await connect(`etcds://${etcd.endpoint}/tls`, {
      etcd: { ca: ca.cert, cert: client.cert, key: client.key },
      connectTimeoutMs: 10_000,
    });
    try {
      await trains(ps, 'tls_w');
    } finally {
      await ps.close();
    }
    // The gluonps CLI with the same settings as flags.
    const server = `etcds://${etcd.endpoint}/tls`;
    const listed = await cli(['list', '--server', server, '--etcd-ca', ca.certFile, ...tlsArgs.slice(2)]);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('tls_w');
    const refused = await cli(['list', '--server', server, '--etcd-ca', otherCa.certFile, ...tlsArgs.slice(2)]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/etcd.*not signed by options.etcd.ca/);
  });

  it('refuses a server with a wrong CA or without a client certificate, naming etcd and why', async () => {
    const wrongCa = await refusedStart(
      shardArgs('tls2', 0, etcd.url, ['--etcd-ca', otherCa.certFile, ...tlsArgs.slice(2)]),
    );
    expect(wrongCa.code).toBe(2);
    expect(wrongCa.stderr).toMatch(
      /--etcd https:\/\/127\.0\.0\.1:\d+ \(CA given, client certificate\): .*\(etcd's certificate is not signed by --etcd-ca/,
    );
    const noCert = await refusedStart(shardArgs('tls2', 0, etcd.url, ['--etcd-ca', ca.certFile]));
    expect(noCert.code).toBe(2);
    expect(noCert.stderr).toMatch(
      /--etcd https:\/\/127\.0\.0\.1:\d+ \(CA given\): writing or checking the layout: .*\(etcd refused the client certificate .*: give --etcd-cert/,
    );
    const plain = await refusedStart(shardArgs('tls2', 0, `http://${etcd.endpoint}`, ['--etcd-ca', ca.certFile]));
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/--etcd-ca is TLS material, but the etcd endpoints http:\/\/.* are http:\/\//);
    // Nothing was written for the refused cluster.
    expect(await etcd.read('/gluonps/tls2/')).toEqual([]);
  }, 60_000);

  it('fails a client with a wrong CA, without a certificate or in plaintext UNAVAILABLE, naming etcd', async () => {
    const target = `etcds://${etcd.endpoint}/tls`;
    const cases: Array<[EtcdConnectOptions, RegExp]> = [
      [
        { ca: otherCa.cert, cert: client.cert, key: client.key },
        /\(etcd's certificate is not signed by options.etcd.ca/,
      ],
      [{ ca: ca.cert }, /\(etcd refused the client certificate .*: give options.etcd.cert and key/],
    ];
    for (const [etcdOptions, why] of cases) {
      const err = await refusedConnect(target, { etcd: etcdOptions });
      expect(err.code).toBe(Status.UNAVAILABLE);
      expect(err.message).toMatch(
        new RegExp(`^connect\\(\\): cannot read cluster 'tls' in etcd \\(${etcd.endpoint}\\)`),
      );
      expect(err.message).toMatch(why);
    }
    const plain = await refusedConnect(`etcd://${etcd.endpoint}/tls`, {});
    expect(plain.code).toBe(Status.UNAVAILABLE);
    expect(plain.message).toMatch(/cannot read cluster 'tls' in etcd/);
  }, 30_000);
});

describe('etcd with authentication', () => {
  let etcd: Etcd;
  let root: Etcd3;
  const shards: ServerProcess[] = [];
  const passwordFile = path.join(work, 'etcd-password');
  const wrongFile = path.join(work, 'etcd-wrong-password');
  const user = (more: string[] = []): string[] => [
    '--etcd-user',
    'gluonps',
    '--etcd-password-file',
    passwordFile,
    ...more,
  ];

  beforeAll(async () => {
    writeFileSync(passwordFile, 'ps-Secret 1\n');
    writeFileSync(wrongFile, 'not it\n');
    etcd = await startEtcd();
    // What an operator runs (docs/cluster.md, "Securing etcd"), through etcd3 instead of etcdctl.
    const admin = new Etcd3({ hosts: etcd.url });
    await admin.user('root').create('root-pw');
    await admin.user('root').addRole('root');
    await admin.role('gluonps-auth').create();
    await admin.role('gluonps-auth').grant({ permission: 'Readwrite', range: Range.prefix('/gluonps/auth/') });
    await admin.user('gluonps').create('ps-Secret 1');
    await admin.user('gluonps').addRole('gluonps-auth');
    // The workers only read and watch.
    await admin.role('gluonps-auth-read').create();
    await admin.role('gluonps-auth-read').grant({ permission: 'Read', range: Range.prefix('/gluonps/auth/') });
    await admin.user('worker').create('worker-pw');
    await admin.user('worker').addRole('gluonps-auth-read');
    await admin.auth.authEnable();
    admin.close();
    root = new Etcd3({ hosts: etcd.url, auth: { username: 'root', password: 'root-pw' } });
    for (const i of [0, 1])
      shards.push(await startServer(bundle, { dataDir: 'none', args: shardArgs('auth', i, etcd.url, user()) }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.stop()));
    root?.close();
    await etcd?.stop();
  });

  it('registers shards as the etcd user, and a client with a read-only user finds them and trains', async () => {
    expect(await root.getAll().prefix('/gluonps/auth/members/').keys()).toEqual([
      '/gluonps/auth/members/0',
      '/gluonps/auth/members/1',
    ]);
    // The password is in no log line.
    for (const s of shards) expect(JSON.stringify(s.logs)).not.toContain('ps-Secret');
    const ps = await connect(`etcd://${etcd.endpoint}/auth`, {
      etcd: { user: 'worker', password: 'worker-pw' },
      connectTimeoutMs: 10_000,
    });
    try {
      await trains(ps, 'auth_w');
    } finally {
      await ps.close();
    }
    const server = `etcd://${etcd.endpoint}/auth`;
    const listed = await cli(['list', '--server', server, ...user()]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('auth_w');
    const refused = await cli([
      'list',
      '--server',
      server,
      '--etcd-user',
      'gluonps',
      '--etcd-password-file',
      wrongFile,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/"code":"?(UNAUTHENTICATED|16)"?.*authentication failed/);
  });

  it('refuses a server with a wrong password, without a user or outside its role, naming etcd and why', async () => {
    const wrong = await refusedStart(
      shardArgs('auth', 0, etcd.url, ['--etcd-user', 'gluonps', '--etcd-password-file', wrongFile]),
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /--etcd http:\/\/127\.0\.0\.1:\d+ \(user gluonps\): .*authentication failed.*\(check --etcd-user and --etcd-password-file\)/,
    );
    expect(wrong.stderr).not.toContain('not it');
    const none = await refusedStart(shardArgs('auth', 0, etcd.url, []));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /user name is empty \(etcd has authentication enabled: give --etcd-user and --etcd-password-file\)/,
    );
    const outside = await refusedStart(shardArgs('other', 0, etcd.url, user()));
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(
      /permission denied \(--etcd-user needs a role with readwrite on the cluster's prefix/,
    );
  }, 60_000);

  it('fails a client with a wrong password or no user UNAUTHENTICATED, another prefix PERMISSION_DENIED, naming etcd', async () => {
    const target = `etcd://${etcd.endpoint}/auth`;
    const wrong = await refusedConnect(target, { etcd: { user: 'gluonps', password: 'nope' } });
    expect(wrong.code).toBe(Status.UNAUTHENTICATED);
    expect(wrong.message).toMatch(
      new RegExp(`^connect\\(\\): etcd \\(${etcd.endpoint}\\) refused reading cluster 'auth': .*authentication failed`),
    );
    const none = await refusedConnect(target, {});
    expect(none.code).toBe(Status.UNAUTHENTICATED);
    expect(none.message).toMatch(
      /etcd .* refused reading cluster 'auth': .*user name is empty \(etcd has authentication enabled: give options.etcd.user and options.etcd.password\)/,
    );
    const other = await refusedConnect(`etcd://${etcd.endpoint}/other`, {
      etcd: { user: 'worker', password: 'worker-pw' },
    });
    expect(other.code).toBe(Status.PERMISSION_DENIED);
    expect(other.message).toMatch(/etcd .* refused reading cluster 'other': .*permission denied/);
  }, 30_000);

  it("watches the cluster's keys with the worker's token", async () => {
    const conn = new EtcdConnection(etcd.endpoint, { user: 'worker', password: 'worker-pw' });
    try {
      const { revision } = await conn.range('/gluonps/auth/', 5000);
      const got = new Promise<string>((resolve, reject) => {
        const w = conn.watchPrefix('/gluonps/auth/', revision + 1, {
          events: (events) => {
            w.cancel();
            resolve(events.map((e) => `${e.type} ${e.key}`).join());
          },
          ended: (reason) => reject(new Error(`the watch ended: ${reason}`)),
        });
      });
      await root.put('/gluonps/auth/probe').value('x');
      expect(await got).toBe('put /gluonps/auth/probe');
    } finally {
      await root.delete().key('/gluonps/auth/probe');
      conn.close();
    }
  });

  it('authenticates again when etcd no longer takes the token', async () => {
    const conn = new EtcdConnection(etcd.endpoint, { user: 'gluonps', password: 'ps-Secret 1' });
    try {
      expect((await conn.range('/gluonps/auth/members/', 5000)).entries).toHaveLength(2);
      // Setting a user's password drops every token etcd gave that user.
      await root.user('gluonps').setPassword('ps-Secret 1');
      expect((await conn.range('/gluonps/auth/members/', 5000)).entries).toHaveLength(2);
    } finally {
      conn.close();
    }
  });
});
