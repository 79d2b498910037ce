// The data dir lock and the start-up sequence (docs/durability.md): a second server on a data dir
// in use refuses to start (exit 2, naming the data dir and the holder's pid) and leaves the first
// one alone; after the holder is killed with SIGKILL its stale lock is taken over; a graceful
// stop releases it. While the server recovers, health answers NOT_SERVING and calls UNAVAILABLE.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { init, Status } from '../../client/index';
import { loadProtos } from '../../protos/load';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import {
  useServerBundle,
  captureState,
  connectTo,
  expectSameState,
  sleep,
  spawnServer,
  startServer,
  tempDir,
} from './crash-harness';

const bundle = useServerBundle('lock');

describe('one server per data dir', () => {
  it('a second server on the same data dir refuses to start, naming the data dir and the pid; a stale lock (kill -9) is taken over', async () => {
    const dir = tempDir('lock');
    const first = await startServer(bundle, { dataDir: dir, durability: 'wal-always' });
    const ps = await connectTo(first.address);
    const w = await ps.parameter('w', { shape: [4], init: init.one() });
    await w.initialize({ seed: 1 });
    const before = await captureState(ps);
    const lock = JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(first.child.pid);

    const second = spawnServer(bundle, { dataDir: dir, durability: 'wal-always' });
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(
        `^gluon-ps: .*data dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${first.child.pid} `,
      ),
    );
    expect(second.stderr).toMatch(/choose another --data-dir/);
    // The lock's own message, not prefixed with the data dir a second time (server/index.ts).
    expect(second.stderr).not.toMatch(/data dir [^\n]*: data dir /);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect(second.linesWith('listening')).toEqual([]);
    // The first server is untouched: still serving, same state, same lock.
    expectSameState(await captureState(ps), before, 'the first server after the refused start');
    expect(JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8'))).toEqual(lock);

    // kill -9 leaves LOCK behind; the next server sees its holder is gone and takes it over.
    await first.kill();
    expect(existsSync(path.join(dir, 'LOCK'))).toBe(true);
    const third = await startServer(bundle, { dataDir: dir, durability: 'wal-always', port: first.port });
    expect(third.linesWith('took over a stale data dir lock')[0]).toMatchObject({
      level: 40,
      stale: { pid: first.child.pid },
      reason: `process ${first.child.pid} is not running`,
    });
    expectSameState(await captureState(ps), before, 'after the takeover');
    // A graceful stop releases the lock.
    expect(await third.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'LOCK'))).toBe(false);
    await ps.close();
  });
});

type ParamCtor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => ParameterServiceClient;

describe('start-up', () => {
  it('health is NOT_SERVING and calls are UNAVAILABLE until the state is recovered', async () => {
    const dir = tempDir('health');
    const first = await startServer(bundle, { dataDir: dir, durability: 'wal-batch' });
    const ps = await connectTo(first.address);
    // A log that takes a while to replay: 48 values of 1 MiB.
    const big = await ps.parameter('big', { shape: [512, 512], init: init.zero() });
    await big.initialize({ seed: 1 });
    const value = { shape: [512, 512], dtype: 'float32' as const, data: new Float32Array(512 * 512) };
    for (let i = 0; i < 48; i++) {
      value.data.fill(i);
      await big.setData(value);
    }
    await first.kill();

    const health = new (loadProtos().grpc.health.v1.Health)(first.address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 20,
      'grpc.max_reconnect_backoff_ms': 50,
    });
    const Params = loadProtos().gluonps.v1.ParameterService as unknown as ParamCtor;
    const params = new Params(first.address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 20,
      'grpc.max_reconnect_backoff_ms': 50,
    });
    const srv = spawnServer(bundle, { dataDir: dir, durability: 'wal-batch', port: first.port });
    const seen: string[] = [];
    let refused: { code: number; details: string } | null = null;
    try {
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        const status = await new Promise<string>((resolve) => {
          health.check({ service: '' }, { deadline: Date.now() + 500 }, (err, res) =>
            resolve(err ? `error ${err.code}` : res!.status),
          );
        });
        if (seen.at(-1) !== status) seen.push(status);
        if (status === 'NOT_SERVING' && refused === null) {
          refused = await new Promise((resolve) => {
            params.describe({ name: 'big' }, { deadline: Date.now() + 500 }, (err) =>
              resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
            );
          });
        }
        if (status === 'SERVING') break;
        await sleep(2);
      }
    } finally {
      health.close();
      params.close();
    }
    await srv.waitForLog((l) => l.msg === 'listening');
    const recovered = srv.linesWith('recovered')[0]!;
    expect(recovered).toMatchObject({ replayed: 50 });
    // Never SERVING before the end; the order is (connection errors,) NOT_SERVING, SERVING.
    expect(seen.at(-1), JSON.stringify({ seen, ms: recovered.ms, refused })).toBe('SERVING');
    if (process.env.GLUONPS_CRASH_TRACE === '1')
      process.stderr.write(`health during recovery: ${JSON.stringify({ seen, ms: recovered.ms, refused })}\n`);
    expect(seen.filter((s) => s !== `error ${Status.UNAVAILABLE}`)).toEqual(
      seen.includes('NOT_SERVING') ? ['NOT_SERVING', 'SERVING'] : ['SERVING'],
    );
    // Whether the recovery was slow enough to be seen depends on the machine; when it was:
    if (seen.includes('NOT_SERVING') && refused !== null && refused.code !== Status.OK) {
      // (a call that raced the end of the recovery may have succeeded: code 0)
      expect(refused).toMatchObject({ code: Status.UNAVAILABLE, details: expect.stringMatching(/still recovering/) });
    }
    if (Number(recovered.ms) >= 150) expect(seen).toContain('NOT_SERVING');
    const again = await connectTo(first.address);
    expect(Array.from((await (await again.get('big')).data()).data as Float32Array).slice(0, 2)).toEqual([47, 47]);
    await again.close();
    await ps.close();
    await srv.kill();
  });
});
