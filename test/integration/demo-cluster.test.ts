// The demo's workers (`npm run demo -- worker`, bundled as the npm script bundles it) against a
// cluster of three shard processes on loopback, given as every shard's address in order
// (`--server a,b,c`; docker-compose.yml's cluster profile gives etcd://etcd:2379/NAME instead,
// and the container tier runs that): both workers exit 0 having applied exactly their share of
// steps, and both models' losses fall. Shards listed out of order are refused, naming the shard.
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepsPerEpoch } from '../../demo/data';
import { MF_RECIPE, MLP_RECIPE, workerBatch } from '../../demo/recipes';
import type { WorkerEvent } from '../../demo/worker';
import { ROOT, useServerBundle } from './crash-harness';
import { startCluster, type Cluster } from './cluster-helpers';

const execFileP = promisify(execFile);
const bundle = useServerBundle('demo-cluster');
const DEMO = `gluonps-demo-cluster-${process.pid}`;
const demoPath = path.join(ROOT, '.build', `${DEMO}.mjs`);
let cluster: Cluster;

beforeAll(async () => {
  await execFileP(process.execPath, ['scripts/bundle.mjs', 'demo/run.ts', DEMO], { cwd: ROOT, timeout: 60_000 });
  // The default slice size, as the compose file's shards have.
  cluster = await startCluster(bundle, 3, { name: 'demo', sliceBytes: '4MiB' });
}, 90_000);

afterAll(() => rmSync(demoPath, { force: true }));

/** One demo worker process; its JSON events, exit code and stderr. */
function worker(args: string[]): Promise<{ code: number | null; events: WorkerEvent[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demoPath, 'worker', ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: WorkerEvent[] = [];
    let stderr = '';
    createInterface({ input: child.stdout }).on('line', (l) => events.push(JSON.parse(l) as WorkerEvent));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, events, stderr }));
  });
}

describe('the demo workers on a cluster (--server with every shard’s address)', () => {
  it('two workers train both models through three shards, each step applied once', async () => {
    const epochs = 2;
    const server = cluster.addresses.join(',');
    const common = ['--server', server, '--workers', '2', '--epochs', String(epochs), '--connect-wait-ms', '10000'];
    const runs = await Promise.all([0, 1].map((id) => worker([...common, '--worker-id', String(id)])));
    for (const [id, r] of runs.entries()) expect(r.code, `worker ${id}: ${r.stderr.slice(-2000)}`).toBe(0);
    for (const [model, recipe] of [
      ['mlp', MLP_RECIPE],
      ['mf', MF_RECIPE],
    ] as const) {
      const steps = epochs * stepsPerEpoch(recipe.data.n, 2, workerBatch(recipe.globalBatch, 2));
      const loss = (epoch: number): number => {
        let sum = 0;
        let count = 0;
        for (const r of runs)
          for (const e of r.events)
            if (e.event === 'epoch' && e.model === model && e.epoch === epoch) {
              sum += e.lossSum;
              count += e.count;
            }
        return sum / count;
      };
      for (const r of runs) {
        const done = r.events.find((e) => e.event === 'done' && e.model === model);
        expect(done, `${model}: done`).toMatchObject({ steps });
      }
      expect(loss(epochs), `${model}: loss after ${epochs} epochs vs before`).toBeLessThan(loss(0));
    }
  }, 240_000);

  it('refuses shards listed out of order, naming the shard and its address', async () => {
    const [a, b, c] = cluster.addresses;
    const r = await worker([
      '--server',
      `${b},${a},${c}`,
      '--workers',
      '1',
      '--worker-id',
      '0',
      '--connect-wait-ms',
      '0',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`shard 0 (${b}) is shard 1 of 3`);
  }, 60_000);
});
