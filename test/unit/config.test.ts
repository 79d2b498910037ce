// Server configuration: flags over GLUONPS_* variables, sizes with units, durability options,
// and which devices a --devices list admits.
import { describe, expect, it } from 'vitest';
import { ConfigError, deviceRefusal, parseCommandLine, parseDevices, parseSize } from '../../server/config';

describe('parseCommandLine', () => {
  it('reads flags, falls back to the environment, and flags win', () => {
    const { options } = parseCommandLine(['--port', '7000', '--max-tensor-bytes', '64MiB'], { GLUONPS_PORT: '6000', GLUONPS_HOST: '0.0.0.0', GLUONPS_MEMORY_BUDGET: '1GB' });
    expect(options).toMatchObject({ port: 7000, host: '0.0.0.0', maxTensorBytes: 64 * 2 ** 20, memoryBudget: 1e9 });
  });

  it('defaults the data dir to ./data, and none turns persistence off', () => {
    expect(parseCommandLine([], {}).options.dataDir).toBe('./data');
    expect(parseCommandLine(['--data-dir', 'none'], {}).options.dataDir).toBeNull();
    expect(parseCommandLine([], { GLUONPS_DATA_DIR: '/srv/ps' }).options.dataDir).toBe('/srv/ps');
  });

  it('reads every durability option and rejects bad ones naming the flag', () => {
    const { options } = parseCommandLine(
      ['--durability', 'wal-always', '--checkpoint-every-steps', '10', '--checkpoint-every-seconds', '60', '--keep-checkpoints', '2', '--wal-batch-ms', '5', '--wal-truncate-corrupt'],
      {},
    );
    expect(options).toMatchObject({ durability: 'wal-always', checkpointEverySteps: 10, checkpointEverySeconds: 60, keepCheckpoints: 2, walBatchMs: 5, walTruncateCorrupt: true });
    expect(() => parseCommandLine(['--durability', 'sometimes'], {})).toThrow(/--durability: expected checkpoint, wal-batch or wal-always, got 'sometimes'/);
    expect(() => parseCommandLine(['--keep-checkpoints', '0'], {})).toThrow(/--keep-checkpoints: expected an integer from 1 to 1000, got '0'/);
    expect(() => parseCommandLine(['--log-level', 'loud'], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(['--bogus'], {})).toThrow(/see --help/);
  });
});

describe('sizes and devices', () => {
  it('parses sizes with binary and decimal units', () => {
    expect(parseSize('x', '512KiB')).toBe(512 * 1024);
    expect(parseSize('x', '2GB')).toBe(2e9);
    expect(parseSize('x', '1048576')).toBe(1048576);
    expect(() => parseSize('--max-tensor-bytes', 'lots')).toThrow(/--max-tensor-bytes: expected a size like 1048576, 64MiB or 1GiB, got 'lots'/);
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
