// TLS and mutual TLS over real gRPC with certificates made by the openssl CLI in a temp dir: the
// product client trusting the server's self-signed certificate does a round trip (with a bearer
// token too); a plaintext client, a client that does not trust the certificate and, under
// mutual TLS, a client without a certificate cannot connect (UNAVAILABLE). Bad PEM material
// fails at start-up naming the flag. Skipped, saying why, when openssl is not installed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, Status } from '../../client/index';
import { parseCommandLine } from '../../server/config';
import { startServer } from '../../server/index';
import type { RunningServer } from '../../server/index';
import { hasOpenssl, selfSigned as makeCert, type CertPair } from '../fixtures/certs';
import { f32, numbers } from './helpers';

if (!hasOpenssl)
  console.warn('tls.test.ts: skipped: the openssl CLI is not installed (needed to make test certificates)');

type Pair = CertPair;
let dir: string;
const selfSigned = (name: string, cn: string): Pair => makeCert(dir, name, cn);

let serverPair: Pair;
let clientPair: Pair;
let other: Pair;

beforeAll(() => {
  if (!hasOpenssl) return;
  dir = mkdtempSync(path.join(tmpdir(), 'gluonps-tls-'));
  serverPair = selfSigned('server', 'localhost');
  clientPair = selfSigned('client', 'worker-0');
  other = selfSigned('other', 'localhost');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** connect() that resolves to the error it failed with. */
const failure = (address: string, options: Parameters<typeof connect>[1]): Promise<unknown> =>
  connect(address, { connectTimeoutMs: 500, ...options }).then(
    async (c) => {
      await c.close();
      return null;
    },
    (e: unknown) => e,
  );

describe.skipIf(!hasOpenssl)('TLS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // Through the command line, so the flags' file reading is covered too.
    const { options } = parseCommandLine(
      [
        '--tls-cert',
        serverPair.certFile,
        '--tls-key',
        serverPair.keyFile,
        '--auth-token',
        'tls-token',
        '--port',
        '0',
        '--data-dir',
        'none',
        '--log-level',
        'silent',
      ],
      {},
    );
    server = await startServer(options);
  });
  afterAll(async () => {
    await server?.close(2000);
  });

  it('a client trusting the certificate does a round trip', async () => {
    const ps = await connect(server.address, {
      tls: { ca: serverPair.cert },
      token: 'tls-token',
      connectTimeoutMs: 5000,
    });
    try {
      const p = await ps.parameter('tls_p', { shape: [3] });
      await p.initialize({ ctx: cpu(0) });
      await p.setData(f32([3], [1, 2, 3]));
      expect(numbers(await p.data())).toEqual([1, 2, 3]);
    } finally {
      await ps.close();
    }
    // Connecting by name works too: the certificate names localhost.
    const byName = await connect(`localhost:${server.port}`, {
      tls: { ca: serverPair.cert },
      token: 'tls-token',
      connectTimeoutMs: 5000,
    });
    expect((await byName.list()).map((d) => d.name)).toEqual(['tls_p']);
    await byName.close();
  });

  it('a plaintext client, or one that does not trust the certificate, cannot connect', async () => {
    const [plain, untrusted] = await Promise.all([
      failure(server.address, {}),
      failure(server.address, { tls: { ca: other.cert } }),
    ]);
    expect(plain).toMatchObject({ code: Status.UNAVAILABLE });
    expect(untrusted).toMatchObject({ code: Status.UNAVAILABLE });
  });
});

describe.skipIf(!hasOpenssl)('mutual TLS', () => {
  it('requires a client certificate signed by the client CA', async () => {
    const server = await startServer({
      port: 0,
      logLevel: 'silent',
      tls: { cert: serverPair.cert, key: serverPair.key, clientCa: clientPair.cert },
    });
    try {
      const ps = await connect(server.address, {
        tls: { ca: serverPair.cert, cert: clientPair.cert, key: clientPair.key },
        connectTimeoutMs: 5000,
      });
      expect(await ps.list()).toEqual([]);
      await ps.close();
      const [none, unknown] = await Promise.all([
        failure(server.address, { tls: { ca: serverPair.cert } }),
        failure(server.address, { tls: { ca: serverPair.cert, cert: other.cert, key: other.key } }),
      ]);
      expect(none).toMatchObject({ code: Status.UNAVAILABLE });
      expect(unknown).toMatchObject({ code: Status.UNAVAILABLE });
    } finally {
      await server.close(2000);
    }
  });
});

describe.skipIf(!hasOpenssl)('TLS configuration errors', () => {
  it('a key of another certificate, a path instead of PEM, or an unreadable file fail at start-up', async () => {
    await expect(
      startServer({ port: 0, logLevel: 'silent', tls: { cert: serverPair.cert, key: other.key } }),
    ).rejects.toThrow(/TLS key \(--tls-key\) does not belong to the certificate/);
    await expect(
      startServer({ port: 0, logLevel: 'silent', tls: { cert: serverPair.certFile, key: serverPair.key } }),
    ).rejects.toThrow(/--tls-cert\): not a PEM certificate .*pass the file's contents, not its path/);
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a key');
    const { options } = parseCommandLine(
      [
        '--tls-cert',
        serverPair.certFile,
        '--tls-key',
        garbage,
        '--port',
        '0',
        '--log-level',
        'silent',
        '--data-dir',
        'none',
      ],
      {},
    );
    await expect(startServer(options)).rejects.toThrow(/TLS key \(--tls-key\): not an unencrypted PEM private key/);
    expect(() =>
      parseCommandLine(['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', serverPair.keyFile], {}),
    ).toThrow(/--tls-cert: cannot read .*missing\.pem/);
  });
});
