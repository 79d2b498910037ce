// The pieces of etcd membership that need no etcd: the key layout and its values
// (common/cluster/etcd-keys.ts), etcd:// targets, the --etcd/--advertise/--etcd-lease-seconds
// flags, the address a server registers, and a data dir's shard identity file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  claimsKey,
  formatLayout,
  formatMember,
  identityKey,
  layoutKey,
  memberIndexOf,
  memberKey,
  parseLayout,
  parseMember,
  prefixEnd,
  type MemberRecord,
} from '../../common/cluster/etcd-keys';
import { parseEtcdTarget } from '../../client/cluster/etcd-membership';
import { ConfigError, parseCommandLine } from '../../server/config';
import { advertisedAddress, etcdOptionsRefusal } from '../../server/cluster/etcd-options';
import { ensureIdentity, IDENTITY_FILE, readIdentity, removeIdentity } from '../../server/cluster/shard-identity';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('etcd keys', () => {
  it('lay a cluster out under /gluonps/NAME/', () => {
    expect(layoutKey('blue')).toBe('/gluonps/blue/layout');
    expect(memberKey('blue', 2)).toBe('/gluonps/blue/members/2');
    expect(identityKey('blue', 2)).toBe('/gluonps/blue/identities/2');
    expect(claimsKey('blue', 2)).toBe('/gluonps/blue/claims/2');
    expect(memberIndexOf('blue', '/gluonps/blue/members/17')).toBe(17);
    expect(memberIndexOf('blue', '/gluonps/blue/members/017')).toBeNull();
    expect(memberIndexOf('blue', '/gluonps/blues/members/1')).toBeNull();
    expect(memberIndexOf('blue', '/gluonps/blue/identities/1')).toBeNull();
  });

  it("end a prefix's range at its last byte plus one", () => {
    expect(prefixEnd('/gluonps/a/').toString('utf8')).toBe('/gluonps/a0');
    expect([...prefixEnd('a\xff')]).toEqual([0x61, 0xc3, 0xc0]); // UTF-8 of ÿ is c3 bf
  });

  it('round-trip layouts and registrations, and reject what is not one', () => {
    const layout = { version: 1, shards: 3, sliceBytes: 4096 };
    expect(parseLayout(formatLayout(layout))).toEqual(layout);
    expect(parseLayout('{"version":1,"shards":0,"sliceBytes":1}')).toBeNull();
    expect(parseLayout('not json')).toBeNull();
    const m: MemberRecord = {
      address: '127.0.0.1:5000',
      identity: null,
      incarnation: 3,
      state: 'serving',
      pid: 12,
      host: 'h',
      since: '2026-01-01T00:00:00.000Z',
      leaseSeconds: 10,
    };
    expect(parseMember(formatMember(m))).toEqual(m);
    expect(parseMember(formatMember({ ...m, identity: 'abc', state: 'recovering' }))).toMatchObject({
      identity: 'abc',
      state: 'recovering',
    });
    expect(parseMember(JSON.stringify({ ...m, address: 'nowhere' }))).toBeNull();
    expect(parseMember(JSON.stringify({ ...m, state: 'dead' }))).toBeNull();
    expect(parseMember('[]')).toBeNull();
  });
});

describe('etcd:// targets', () => {
  it('name the endpoints and the cluster', () => {
    expect(parseEtcdTarget('t', 'etcd://127.0.0.1:2379/blue')).toEqual({
      endpoints: ['127.0.0.1:2379'],
      cluster: 'blue',
      tls: false,
    });
    expect(parseEtcdTarget('t', 'etcd://a:1,b.example:2,[::1]:3/x.y-z')).toEqual({
      endpoints: ['a:1', 'b.example:2', '[::1]:3'],
      cluster: 'x.y-z',
      tls: false,
    });
    expect(parseEtcdTarget('t', 'etcds://e:2379/blue')).toEqual({ endpoints: ['e:2379'], cluster: 'blue', tls: true });
  });

  it('refuse anything else with INVALID_ARGUMENT saying what is expected', () => {
    for (const bad of [
      'etcd://127.0.0.1:2379',
      'etcd:///blue',
      'etcd://a/blue',
      'etcd://a:99999/blue',
      'etcd://a:1/b/c',
    ])
      expect(() => parseEtcdTarget('connect()', bad)).toThrow(/^connect\(\): .*etcd:\/\/host:port/);
    expect(() => parseEtcdTarget('connect()', 'etcd://a:1/no spaces')).toThrow(/cluster name must be/);
  });
});

describe('--etcd, --advertise, --etcd-lease-seconds', () => {
  it('read flags and GLUONPS_* variables, as http:// URLs', () => {
    expect(parseCommandLine(['--etcd', '127.0.0.1:2379,http://10.0.0.2:2379/'], {}).options.etcd).toEqual({
      endpoints: ['http://127.0.0.1:2379', 'http://10.0.0.2:2379'],
    });
    expect(
      parseCommandLine([], {
        GLUONPS_ETCD: 'http://e:2379',
        GLUONPS_ADVERTISE: 'shard-1.ps:50051',
        GLUONPS_ETCD_LEASE_SECONDS: '4',
      }).options.etcd,
    ).toEqual({ endpoints: ['http://e:2379'], advertise: 'shard-1.ps:50051', leaseSeconds: 4 });
    expect(parseCommandLine([], {}).options.etcd).toBeUndefined();
  });

  it('refuse what is wrong with a ConfigError naming the flag', () => {
    const refused = (args: string[]): string => {
      try {
        parseCommandLine(args, {});
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${args.join(' ')}`);
    };
    expect(refused(['--etcd', 'https://e:2379,http://f:2379'])).toMatch(/^--etcd: .* mixes http:\/\/ and https:\/\//);
    expect(refused(['--etcd', 'e'])).toMatch(/^--etcd: 'e' is not an etcd client URL/);
    expect(refused(['--etcd', ','])).toMatch(/^--etcd: expected etcd client URLs/);
    expect(refused(['--advertise', 'a:1'])).toMatch(/needs? --etcd/);
    expect(refused(['--etcd', 'e:1', '--advertise', 'a'])).toMatch(/^--advertise: expected the host:port/);
    expect(refused(['--etcd', 'e:1', '--advertise', 'a:0'])).toMatch(/^--advertise/);
    expect(refused(['--etcd', 'e:1', '--etcd-lease-seconds', '0'])).toMatch(
      /^--etcd-lease-seconds: expected an integer from 1/,
    );
  });

  it('register --advertise, else --host and the bound port; a wildcard host needs --advertise', () => {
    const o = { endpoints: ['http://e:1'] };
    expect(advertisedAddress(o, '127.0.0.1', 5000)).toBe('127.0.0.1:5000');
    expect(advertisedAddress(o, '::1', 5000)).toBe('[::1]:5000');
    expect(advertisedAddress(o, '0.0.0.0', 5000)).toBeNull();
    expect(advertisedAddress({ ...o, advertise: 'ps-0:50051' }, '0.0.0.0', 5000)).toBe('ps-0:50051');
    expect(etcdOptionsRefusal(o)).toBeNull();
    expect(etcdOptionsRefusal({ endpoints: [] })).toMatch(/etcd.endpoints/);
    expect(etcdOptionsRefusal({ ...o, leaseSeconds: 1.5 })).toMatch(/--etcd-lease-seconds/);
  });
});

describe('a data dir shard identity', () => {
  it('is made once, kept, and taken back only by the start that made it', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'gluonps-identity-')), 'data');
    dirs.push(path.dirname(dir));
    expect(await readIdentity(dir)).toBeNull();
    const first = await ensureIdentity(dir, 'blue', 1);
    expect(first.created).toBe(true);
    expect(first.identity).toMatchObject({ cluster: 'blue', index: 1 });
    const again = await ensureIdentity(dir, 'blue', 1);
    expect(again).toEqual({ identity: first.identity, created: false });
    await removeIdentity(dir, 'someone-else');
    expect(await readIdentity(dir)).toEqual(first.identity);
    await removeIdentity(dir, first.identity.identity);
    expect(await readIdentity(dir)).toBeNull();
  });

  it('refuses a malformed file, naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-identity-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, IDENTITY_FILE), '{"identity": 3}');
    await expect(readIdentity(dir)).rejects.toThrow(new RegExp(`${IDENTITY_FILE} is not a shard identity`));
    expect(readFileSync(path.join(dir, IDENTITY_FILE), 'utf8')).toBe('{"identity": 3}');
  });
});
