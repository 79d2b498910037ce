// A real etcd for the membership tests: Debian's etcd-server (/usr/bin/etcd, installed by
// scripts/ensure-etcd.sh when missing: never a silent skip), one member with a private data dir
// in a temporary directory, client and peer URLs on free 127.0.0.1 ports, stopped and removed by
// stop(). Also a reader of the cluster's keys through the client's own etcd wire code. With
// `tls`, etcd serves https:// client URLs with the given certificate (and, with
// clientCertAuth, requires client certificates signed by the CA).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EtcdConnection, type EtcdEntry, type EtcdSecurity } from '../../client/cluster/etcd-wire';
import { ROOT } from '../fixtures/bundled-module';
import { freePort } from '../fixtures/free-port';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface Etcd {
  /** host:port of its client URL. */
  endpoint: string;
  /** http://host:port (https:// with TLS), as --etcd takes it. */
  url: string;
  /** Every key under `prefix` now. */
  read(prefix: string): Promise<EtcdEntry[]>;
  /** kill -9 and start again on the same data dir and ports (keys and leases survive). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Installs etcd-server when missing (as root), or throws naming the package. */
export function ensureEtcdBinary(): void {
  if (existsSync(ETCD_BINARY)) return;
  const r = spawnSync('bash', ['scripts/ensure-etcd.sh'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(ETCD_BINARY))
    throw new Error(
      `the etcd tests need Debian's etcd-server (${ETCD_BINARY}); scripts/ensure-etcd.sh failed: ${r.stderr}${r.stdout}`,
    );
}

/** etcd's TLS: PEM files of its certificate, its key and the CA client certificates must chain to. */
export interface EtcdTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Require client certificates (etcd's --client-cert-auth). */
  clientCertAuth: boolean;
  /** How the harness's own reader reaches this etcd (its CA, a client certificate). */
  reader: EtcdSecurity;
}

/** Starts etcd and waits until it answers a read (up to 30 s; a busy port is retried). */
export async function startEtcd(tls?: EtcdTls): Promise<Etcd> {
  ensureEtcdBinary();
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-etcd-'));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const endpoint = `127.0.0.1:${clientPort}`;
    const conn = new EtcdConnection(endpoint, tls?.reader ?? {});
    let member = spawnEtcd(dir, clientPort, peerPort, tls);
    const stop = async (): Promise<void> => {
      conn.close();
      await member.kill();
      rmSync(dir, { recursive: true, force: true });
    };
    if (await waitReady(conn, member.child)) {
      return {
        endpoint,
        url: `${tls === undefined ? 'http' : 'https'}://${endpoint}`,
        read: async (prefix) => (await conn.range(prefix, 5000)).entries,
        restart: async () => {
          await member.kill();
          member = spawnEtcd(dir, clientPort, peerPort, tls);
          if (!(await waitReady(conn, member.child))) throw new Error(`etcd did not restart: ${member.stderr()}`);
        },
        stop,
      };
    }
    const why = member.stderr();
    await stop();
    if (attempt >= 3) throw new Error(`etcd did not start: ${why}`);
  }
}

/** One etcd process on `dir` (its data survives a restart on the same dir and ports). */
function spawnEtcd(
  dir: string,
  clientPort: number,
  peerPort: number,
  tls?: EtcdTls,
): { child: ChildProcess; stderr(): string; kill(): Promise<void> } {
  const client = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD_BINARY,
    [
      '--name=gluonps-test',
      `--data-dir=${path.join(dir, 'data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=gluonps-test=${peer}`,
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=error',
      ...(tls === undefined
        ? []
        : [
            `--cert-file=${tls.certFile}`,
            `--key-file=${tls.keyFile}`,
            `--trusted-ca-file=${tls.caFile}`,
            ...(tls.clientCertAuth ? ['--client-cert-auth'] : []),
          ]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    child,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitReady(conn: EtcdConnection, child: ChildProcess): Promise<boolean> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null) return false; // e.g. a port taken meanwhile
    try {
      await conn.range('/', 1000);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}
