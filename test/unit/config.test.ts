// Server configuration: flags over GLUONPS_* variables, sizes with units, durability options,
// which devices a --devices list admits, bearer tokens (lists and token files) and TLS files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostMemoryBytes } from '../../server/limits';
import {
  CLI_FLAGS,
  ConfigError,
  deviceRefusal,
  HELP,
  parseCommandLine,
  parseDevices,
  parseSize,
  parseTokenFile,
  shardRoute,
} from '../../server/config';
import { DEFAULT_SLICE_BYTES, LAYOUT_VERSION } from '../../common/cluster/placement';

describe('parseCommandLine', () => {
  it('--help and docs/configuration.md describe every flag the parser accepts', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const flags = Object.keys(CLI_FLAGS).map((f) => `--${f}`);
    expect(flags.length).toBeGreaterThan(20);
    expect(
      flags.filter((f) => !new RegExp(`${f}(?![\\w-])`).test(HELP)),
      'missing from --help',
    ).toEqual([]);
    expect(
      flags.filter((f) => f !== '--help' && !new RegExp(`\`${f}(?![\\w-])`).test(docs)),
      'missing from docs/configuration.md',
    ).toEqual([]);
  });

  it('reads flags, falls back to the environment, and flags win', () => {
    const { options } = parseCommandLine(['--port', '7000', '--max-tensor-bytes', '64MiB'], {
      GLUONPS_PORT: '6000',
      GLUONPS_HOST: '0.0.0.0',
      GLUONPS_MEMORY_BUDGET: '1GB',
    });
    expect(options).toMatchObject({ port: 7000, host: '0.0.0.0', maxTensorBytes: 64 * 2 ** 20, memoryBudget: 1e9 });
  });

  it('reads --memory-budget and --max-declared-bytes as a size, a percentage of the host memory, or none / 0', () => {
    const budget = (args: string[], env: Record<string, string> = {}): unknown =>
      parseCommandLine(args, env).options.memoryBudget;
    expect(budget([])).toBeUndefined(); // the server applies its default (80% of the host memory)
    expect(budget(['--memory-budget', '16GiB'])).toBe(16 * 2 ** 30);
    expect(budget(['--memory-budget', '50%'])).toBe(Math.floor(hostMemoryBytes() / 2));
    expect(budget(['--memory-budget', 'none'])).toBeNull();
    expect(budget([], { GLUONPS_MEMORY_BUDGET: '0' })).toBeNull();
    expect(budget(['--memory-budget', '150%'])).toBe(Math.floor(hostMemoryBytes() * 1.5)); // GPUs add memory
    expect(() => budget(['--memory-budget', '2000%'])).toThrow(/--memory-budget: .*\(0, 1000\], got '2000%'/);
    expect(parseCommandLine(['--max-declared-bytes', '1TiB']).options.maxDeclaredBytes).toBe(2 ** 40);
    expect(parseCommandLine([], { GLUONPS_MAX_DECLARED_BYTES: 'none' }).options.maxDeclaredBytes).toBeNull();
    expect(parseCommandLine([], {}).options.maxDeclaredBytes).toBeUndefined();
    expect(() => budget(['--memory-budget', 'lots'])).toThrow(/--memory-budget: expected a size/);
  });

  it('defaults the data dir to ./data, and none turns persistence off', () => {
    expect(parseCommandLine([], {}).options.dataDir).toBe('./data');
    expect(parseCommandLine(['--data-dir', 'none'], {}).options.dataDir).toBeNull();
    expect(parseCommandLine([], { GLUONPS_DATA_DIR: '/srv/ps' }).options.dataDir).toBe('/srv/ps');
  });

  it('reads every durability option and rejects bad ones naming the flag', () => {
    const { options } = parseCommandLine(
      [
        '--durability',
        'wal-always',
        '--checkpoint-every-steps',
        '10',
        '--checkpoint-every-seconds',
        '60',
        '--keep-checkpoints',
        '2',
        '--wal-batch-ms',
        '5',
        '--wal-truncate-corrupt',
      ],
      {},
    );
    expect(options).toMatchObject({
      durability: 'wal-always',
      checkpointEverySteps: 10,
      checkpointEverySeconds: 60,
      keepCheckpoints: 2,
      walBatchMs: 5,
      walTruncateCorrupt: true,
    });
    expect(() => parseCommandLine(['--durability', 'sometimes'], {})).toThrow(
      /--durability: expected checkpoint, wal-batch or wal-always, got 'sometimes'/,
    );
    expect(() => parseCommandLine(['--keep-checkpoints', '0'], {})).toThrow(
      /--keep-checkpoints: expected an integer from 1 to 1000, got '0'/,
    );
    expect(() => parseCommandLine(['--log-level', 'loud'], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(['--bogus'], {})).toThrow(/see --help/);
  });
});

describe('sizes and devices', () => {
  it('parses sizes with binary and decimal units', () => {
    expect(parseSize('x', '512KiB')).toBe(512 * 1024);
    expect(parseSize('x', '2GB')).toBe(2e9);
    expect(parseSize('x', '1048576')).toBe(1048576);
    expect(() => parseSize('--max-tensor-bytes', 'lots')).toThrow(
      /--max-tensor-bytes: expected a size like 1048576, 64MiB or 1GiB, got 'lots'/,
    );
    expect(() => parseSize('x', '0')).toThrow(/positive/);
  });

  it('admits exactly the devices a --devices list names', () => {
    expect(parseDevices('cpu, gpu(1)')).toEqual(['cpu', 'gpu(1)']);
    expect(() => parseDevices('cpu,tpu')).toThrow(/'tpu' is not one of cpu, gpu, gpu\(i\)/);
    expect(deviceRefusal(['cpu'], { type: 'cpu', id: 3 })).toBeNull();
    expect(deviceRefusal(['cpu'], { type: 'gpu', id: 0 })).toMatch(/started with --devices cpu/);
    expect(deviceRefusal(['gpu(1)'], { type: 'gpu', id: 1 })).toBeNull();
    expect(deviceRefusal(['gpu(1)'], { type: 'gpu', id: 0 })).toMatch(/--devices gpu\(1\)/);
    expect(deviceRefusal(['gpu'], { type: 'cpu', id: 0 })).toMatch(/without cpu in --devices/);
  });
});

describe('tokens and TLS files', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gluonps-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without any token or TLS option, auth and TLS stay off', () => {
    const { options } = parseCommandLine([], {});
    expect(options.auth).toBeUndefined();
    expect(options.tls).toBeUndefined();
  });

  it('reads comma-separated token lists; a repeated flag adds, and flags win over the environment', () => {
    const env = { GLUONPS_AUTH_TOKEN: 'env-a,env-b', GLUONPS_READ_ONLY_TOKEN: ' r1 , r2 ,' };
    expect(parseCommandLine([], env).options.auth).toEqual({
      tokens: ['env-a', 'env-b'],
      readOnlyTokens: ['r1', 'r2'],
    });
    const { options } = parseCommandLine(['--auth-token', 'a,b', '--auth-token', 'c', '--read-only-token', 'r9'], env);
    expect(options.auth).toEqual({ tokens: ['a', 'b', 'c'], readOnlyTokens: ['r9'] });
    expect(parseCommandLine([], { GLUONPS_AUTH_TOKEN: '' }).options.auth).toBeUndefined();
  });

  it('reads token files (one per line, blank lines and # comments skipped) and adds them to the lists', () => {
    const full = file('full.txt', '# ops team\n\ntok-1\r\n  tok-2  \n\n# rotated 2024-01\n');
    const ro = file('ro.txt', '\ufeffro-1\n');
    const { options } = parseCommandLine(['--auth-token', 'flag-tok', '--auth-token-file', full], {
      GLUONPS_READ_ONLY_TOKEN_FILE: ro,
    });
    expect(options.auth).toEqual({ tokens: ['flag-tok', 'tok-1', 'tok-2'], readOnlyTokens: ['ro-1'] });
    expect(parseCommandLine([], { GLUONPS_AUTH_TOKEN_FILE: full }).options.auth?.tokens).toEqual(['tok-1', 'tok-2']);
  });

  it('refuses an empty token file, an invalid token (without showing it) and an unreadable file', () => {
    const empty = file('empty.txt', '# nothing yet\n\n');
    expect(() => parseCommandLine(['--auth-token-file', empty], {})).toThrow(
      /--auth-token-file .*empty\.txt: no token in the file/,
    );
    const spaced = file('spaced.txt', 'ok\nsecret with spaces\n');
    const err = (() => {
      try {
        parseCommandLine(['--read-only-token-file', spaced], {});
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/--read-only-token-file .*spaced\.txt: line 2 is not a valid token/);
    expect(err!.message).not.toContain('secret');
    expect(() => parseCommandLine(['--auth-token', ' , '], {})).toThrow(/--auth-token: expected one or more tokens/);
    expect(() => parseCommandLine(['--auth-token', 'caf\u00e9'], {})).toThrow(/--auth-token: token 1 is not valid/);
    expect(() => parseCommandLine(['--auth-token-file', path.join(dir, 'nope.txt')], {})).toThrow(
      /--auth-token-file: cannot read .*nope\.txt/,
    );
    expect(() => parseTokenFile('x', '\n#only comments\n')).toThrow(ConfigError);
  });

  it('reads the TLS files; cert and key go together, and a client CA needs both', () => {
    const cert = file('cert.pem', 'CERT');
    const key = file('key.pem', 'KEY');
    const ca = file('ca.pem', 'CA');
    const { options } = parseCommandLine(['--tls-cert', cert], {
      GLUONPS_TLS_KEY: key,
      GLUONPS_TLS_CLIENT_CA: ca,
      GLUONPS_TLS_CERT: '/ignored',
    });
    expect(options.tls).toEqual({ cert: Buffer.from('CERT'), key: Buffer.from('KEY'), clientCa: Buffer.from('CA') });
    expect(parseCommandLine(['--tls-cert', cert, '--tls-key', key], {}).options.tls?.clientCa).toBeUndefined();
    expect(() => parseCommandLine(['--tls-cert', cert], {})).toThrow(/--tls-cert needs --tls-key too/);
    expect(() => parseCommandLine([], { GLUONPS_TLS_KEY: key })).toThrow(/--tls-key needs --tls-cert too/);
    expect(() => parseCommandLine(['--tls-client-ca', ca], {})).toThrow(
      /--tls-client-ca needs --tls-cert and --tls-key/,
    );
    expect(() => parseCommandLine(['--tls-cert', cert, '--tls-key', path.join(dir, 'missing.pem')], {})).toThrow(
      /--tls-key: cannot read .*missing\.pem/,
    );
  });
});

describe('--insecure', () => {
  it('is off by default, set by the flag or GLUONPS_INSECURE, and a bad value is refused', () => {
    expect(parseCommandLine([], {}).options.insecure).toBeUndefined();
    expect(parseCommandLine(['--insecure'], {}).options.insecure).toBe(true);
    expect(parseCommandLine([], { GLUONPS_INSECURE: 'true' }).options.insecure).toBe(true);
    expect(parseCommandLine([], { GLUONPS_INSECURE: '0' }).options.insecure).toBeUndefined();
    expect(() => parseCommandLine([], { GLUONPS_INSECURE: 'maybe' })).toThrow(
      /GLUONPS_INSECURE: expected 1, true, yes, 0, false or no/,
    );
  });
});

describe('shard flags', () => {
  it('read --shard-index/--num-shards/--cluster/--slice-bytes or their variables, and refuse bad ones', () => {
    expect(parseCommandLine([], {}).options.shard).toBeUndefined();
    expect(
      parseCommandLine(['--shard-index', '2', '--num-shards', '3', '--cluster', 'blue', '--slice-bytes', '1MiB'], {})
        .options.shard,
    ).toEqual({ index: 2, count: 3, cluster: 'blue', sliceBytes: 2 ** 20 });
    expect(
      parseCommandLine([], { GLUONPS_SHARD_INDEX: '1', GLUONPS_NUM_SHARDS: '2', GLUONPS_CLUSTER: 'c' }).options.shard,
    ).toEqual({ index: 1, count: 2, cluster: 'c' });
    expect(shardRoute(undefined)).toEqual({
      cluster: 'default',
      index: 0,
      count: 1,
      layoutVersion: LAYOUT_VERSION,
      sliceBytes: DEFAULT_SLICE_BYTES,
    });
    expect(() => parseCommandLine(['--shard-index', '1'], {})).toThrow(/--shard-index and --num-shards go together/);
    expect(() => parseCommandLine(['--shard-index', '3', '--num-shards', '3'], {})).toThrow(
      /--shard-index: expected an integer from 0 to 2/,
    );
    expect(() => parseCommandLine(['--shard-index', '0', '--num-shards', '0'], {})).toThrow(/--num-shards: expected/);
    expect(() => parseCommandLine(['--cluster', 'a b'], {})).toThrow(/--cluster: expected 1-64 letters/);
    expect(() => shardRoute({ index: 0, count: 2, sliceBytes: 0 })).toThrow(/--slice-bytes: expected a positive/);
  });
});
