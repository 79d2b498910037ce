// Securing etcd without an etcd (docs/cluster.md, "Securing etcd"): the server's --etcd-ca,
// --etcd-cert, --etcd-key, --etcd-user and --etcd-password-file (and startServer's etcd fields)
// are read and every combination that cannot work is refused naming the flags; the client's
// etcds:// and options.etcd likewise, with INVALID_ARGUMENT, before anything is dialled.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { etcdSecurity } from '../../client/cluster/etcd-security';
import { explainEtcdError } from '../../common/cluster/etcd-errors';
import { parseCommand, UsageError } from '../../client/cli';
import { connect, GluonPsError, Status } from '../../client/index';
import { ConfigError, HELP, parseCommandLine } from '../../server/config';
import { describeEtcd, etcdOptionsRefusal } from '../../server/cluster/etcd-options';

const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-etcd-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

const ca = file('ca.pem', 'CA PEM');
const cert = file('cert.pem', 'CERT PEM');
const key = file('key.pem', 'KEY PEM');
const password = file('password', 's3cret word\nignored second line\n');

function refused(args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCommandLine(args, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${args.join(' ')}`);
}

describe('the server: --etcd-ca, --etcd-cert, --etcd-key, --etcd-user, --etcd-password-file', () => {
  it('read the files (the password: the first line) from flags or GLUONPS_* variables', () => {
    const args = ['--etcd', 'https://a:2379,https://b:2379', '--etcd-ca', ca, '--etcd-cert', cert];
    const o = parseCommandLine([...args, '--etcd-key', key, '--etcd-user', 'ps', '--etcd-password-file', password], {})
      .options.etcd!;
    expect(o.endpoints).toEqual(['https://a:2379', 'https://b:2379']);
    expect(o.ca?.toString()).toBe('CA PEM');
    expect(o.cert?.toString()).toBe('CERT PEM');
    expect(o.key?.toString()).toBe('KEY PEM');
    expect(o.user).toBe('ps');
    expect(o.password).toBe('s3cret word');
    // Never the password in what the server writes about etcd.
    expect(describeEtcd(o)).toBe('https://a:2379,https://b:2379 (CA given, client certificate, user ps)');
    const env = parseCommandLine([], {
      GLUONPS_ETCD: 'http://e:1',
      GLUONPS_ETCD_USER: 'ps',
      GLUONPS_ETCD_PASSWORD_FILE: password,
    }).options.etcd!;
    expect(env).toEqual({ endpoints: ['http://e:1'], user: 'ps', password: 's3cret word' });
    // https:// without --etcd-ca: the system's CAs.
    expect(parseCommandLine(['--etcd', 'https://e:1'], {}).options.etcd).toEqual({ endpoints: ['https://e:1'] });
    expect(HELP).toMatch(/--etcd-password-file <file>/);
  });

  it('refuse combinations that cannot work, naming the flags', () => {
    expect(refused(['--etcd-ca', ca])).toMatch(/^--etcd-ca needs --etcd/);
    expect(refused(['--etcd-user', 'ps', '--etcd-password-file', password])).toMatch(
      /^--etcd-user, --etcd-password-file need --etcd/,
    );
    expect(refused(['--etcd', 'http://e:1', '--etcd-ca', ca])).toMatch(
      /^--etcd-ca is TLS material, but the etcd endpoints http:\/\/e:1 are http:\/\//,
    );
    expect(refused(['--etcd', 'e:1', '--etcd-cert', cert, '--etcd-key', key])).toMatch(/^--etcd-cert is TLS material/);
    expect(refused(['--etcd', 'https://e:1', '--etcd-cert', cert])).toMatch(/^--etcd-cert needs --etcd-key too/);
    expect(refused(['--etcd', 'https://e:1', '--etcd-key', key])).toMatch(/^--etcd-key needs --etcd-cert too/);
    expect(refused(['--etcd', 'e:1', '--etcd-user', 'ps'])).toMatch(/^--etcd-user needs --etcd-password-file/);
    expect(refused(['--etcd', 'e:1', '--etcd-password-file', password])).toMatch(
      /^--etcd-password-file needs --etcd-user/,
    );
    expect(refused(['--etcd', 'e:1', '--etcd-user', 'ps', '--etcd-password-file', file('empty', '\nx\n')])).toMatch(
      /^--etcd-password-file: .*the first line \(the password\) is empty/,
    );
    expect(refused(['--etcd', 'https://e:1', '--etcd-ca', path.join(dir, 'missing.pem')])).toMatch(
      /^--etcd-ca: cannot read .*missing\.pem/,
    );
  });

  it("refuse startServer's etcd fields the same way", () => {
    const https = { endpoints: ['https://e:1'] };
    expect(etcdOptionsRefusal({ ...https, ca: Buffer.from('x'), cert: Buffer.from('c'), key: Buffer.from('k') })).toBe(
      null,
    );
    expect(etcdOptionsRefusal({ endpoints: ['http://e:1'], ca: Buffer.from('x') })).toMatch(
      /^etcd.ca is TLS material, but/,
    );
    expect(etcdOptionsRefusal({ ...https, ca: 'x' as unknown as Buffer })).toMatch(/^etcd.ca: expected a Buffer/);
    expect(etcdOptionsRefusal({ ...https, cert: Buffer.from('c') })).toMatch(/^etcd.cert needs etcd.key too/);
    expect(etcdOptionsRefusal({ ...https, user: 'ps' })).toMatch(/^etcd.user needs etcd.password/);
    expect(etcdOptionsRefusal({ ...https, user: '', password: 'p' })).toMatch(
      /^etcd.user: expected a non-empty string/,
    );
    expect(etcdOptionsRefusal({ endpoints: ['https://e:1', 'http://f:1'] })).toMatch(/mixes http:\/\/ and https:\/\//);
  });
});

describe('the client: etcds:// and options.etcd', () => {
  const pem = Buffer.from('PEM');

  it('TLS for etcds:// (system CAs without a ca), the user and password for either', () => {
    expect(etcdSecurity('c', 'etcd://e:1/x', false, undefined)).toEqual({});
    expect(etcdSecurity('c', 'etcds://e:1/x', true, undefined)).toEqual({ tls: {} });
    expect(etcdSecurity('c', 'etcds://e:1/x', true, { ca: pem, cert: pem, key: pem })).toEqual({
      tls: { ca: pem, cert: pem, key: pem },
    });
    expect(etcdSecurity('c', 'etcd://e:1/x', false, { user: 'ps', password: 'pw' })).toEqual({
      user: 'ps',
      password: 'pw',
    });
  });

  it('refuse what cannot work with INVALID_ARGUMENT, before dialling etcd', async () => {
    const refusal = async (url: string, etcd: unknown): Promise<GluonPsError> => {
      const err = await connect(url as `etcd://${string}`, { etcd: etcd as never, connectTimeoutMs: 200 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GluonPsError);
      expect((err as GluonPsError).code).toBe(Status.INVALID_ARGUMENT);
      return err as GluonPsError;
    };
    expect((await refusal('etcd://127.0.0.1:1/x', { ca: pem })).message).toMatch(
      /options.etcd.ca is TLS material, but etcd:\/\/127.0.0.1:1\/x is plaintext: write etcds:\/\//,
    );
    expect((await refusal('etcds://127.0.0.1:1/x', { cert: pem })).message).toMatch(
      /cert and options.etcd.key go together/,
    );
    expect((await refusal('etcd://127.0.0.1:1/x', { user: 'ps' })).message).toMatch(/user and options.etcd.password/);
    expect((await refusal('etcd://127.0.0.1:1/x', { password: 'pw' })).message).toMatch(
      /user and options.etcd.password/,
    );
    expect((await refusal('etcds://127.0.0.1:1/x', { ca: 'text' })).message).toMatch(
      /options.etcd.ca must be a Buffer/,
    );
    expect((await refusal('etcd://127.0.0.1:1/x', { token: 't' })).message).toMatch(/unknown option 'token'/);
    expect((await refusal('etcd://127.0.0.1:1/x', 'x')).message).toMatch(/options.etcd must be/);
  });
});

describe("etcd's refusals, explained", () => {
  const names = {
    ca: '--etcd-ca',
    cert: '--etcd-cert',
    user: '--etcd-user',
    password: '--etcd-password-file',
    permission: 'readwrite',
  } as const;

  it('name the setting to change, on one line', () => {
    expect(
      explainEtcdError('14 UNAVAILABLE: Last error: Error: unable to verify the first certificate', names, false),
    ).toMatch(/not trusted by the system's CAs: give --etcd-ca/);
    expect(explainEtcdError('Error: self-signed certificate', names, true)).toMatch(/not signed by --etcd-ca/);
    expect(
      explainEtcdError(
        'SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:\nx.c:1:SSL alert number 42',
        names,
        true,
      ),
    ).toMatch(
      /^SSL routines:ssl3_read_bytes:sslv3 alert bad certificate: x.c:1:SSL alert number 42 \(etcd refused the client certificate .* give --etcd-cert/,
    );
    expect(explainEtcdError('etcdserver: authentication failed, invalid user ID or password', names, false)).toMatch(
      /\(check --etcd-user and --etcd-password-file\)$/,
    );
    expect(explainEtcdError('etcdserver: user name is empty', names, false)).toMatch(
      /authentication enabled: give --etcd-user/,
    );
    expect(explainEtcdError('etcdserver: permission denied', names, false)).toMatch(
      /a role with readwrite on the cluster's prefix/,
    );
    expect(explainEtcdError('etcdserver: authentication is not enabled', names, false)).toMatch(
      /leave out --etcd-user/,
    );
    expect(explainEtcdError('14 UNAVAILABLE: connect ECONNREFUSED', names, false)).toBe(
      '14 UNAVAILABLE: connect ECONNREFUSED',
    );
  });
});

describe('the gluonps CLI: --server etcd://... and the --etcd-* options', () => {
  it('reads them for an etcd:// or etcds:// server, from flags or GLUONPS_* variables', () => {
    const cmd = parseCommand([
      'list',
      '--server',
      'etcds://e:2379/blue',
      '--etcd-ca',
      ca,
      '--etcd-cert',
      cert,
      '--etcd-key',
      key,
    ]);
    expect(cmd.servers).toEqual(['etcds://e:2379/blue']);
    expect(cmd.etcd).toEqual({ ca: Buffer.from('CA PEM'), cert: Buffer.from('CERT PEM'), key: Buffer.from('KEY PEM') });
    const env = parseCommand(['list', '--server', 'etcd://e:2379/blue'], {
      GLUONPS_ETCD_USER: 'ps',
      GLUONPS_ETCD_PASSWORD_FILE: password,
    });
    expect(env.etcd).toEqual({ user: 'ps', password: 's3cret word' });
    expect(parseCommand(['list', '--server', 'etcd://e:2379/blue'], {}).etcd).toBeUndefined();
  });

  it('refuses them for host:port servers, and unreadable or empty files', () => {
    expect(() => parseCommand(['list', '--server', 'a:1', '--etcd-user', 'ps'], {})).toThrow(
      /--etcd-user applies to --server etcd:\/\/... or etcds:\/\/... only/,
    );
    expect(() =>
      parseCommand(['list', '--server', 'etcd://e:1/b', '--etcd-password-file', path.join(dir, 'nope')], {}),
    ).toThrow(UsageError);
    expect(() =>
      parseCommand(['list', '--server', 'etcd://e:1/b', '--etcd-password-file', file('blank', '\n')], {}),
    ).toThrow(/--etcd-password-file: the first line of .* is empty/);
  });
});
