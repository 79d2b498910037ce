// cluster-worker.ts: one worker of `npm run bench:cluster` (a child process of bench/cluster.ts,
// in its host's network namespace or on loopback). It connects with the product client, either
// to a cluster (connect([every shard's address])) or to one server directly (connect(address)),
// declares the model (worker 0 also initializes it; the others attach), joins one sync
// SGD-momentum trainer, and on each request runs one step: pull every tensor (all at once),
// push a gradient for each (all at once), then step(), timing each phase.
import { performance } from 'node:perf_hooks';
import { serveRequests } from './child-process';
import { withTimeout, workerGradients } from './measure';

export const WORKER_FLAG = '--cluster-bench-worker';
const BATCH_SIZE = 32;

export interface ClusterWorkerConfig {
  /** Every shard's host:port (a cluster client, even of one shard), or one server's (direct). */
  target: string[] | string;
  workerId: number;
  numWorkers: number;
  /** Each tensor's shape. */
  shapes: number[][];
  /** Parameter names are `<prefix>_w<i>`, the trainer's `<prefix>`. */
  prefix: string;
  /** Longest one step may take before the run is declared stuck. */
  opTimeoutMs: number;
}

/** Milliseconds of one step at one worker, total and by phase. */
export interface StepTimes {
  total: number;
  pull: number;
  push: number;
  /** tr.step(): barrier wait + every shard's optimizer apply + replies. */
  step: number;
}

interface Session {
  step(): Promise<StepTimes>;
  close(): Promise<void>;
}

async function openSession(config: ClusterWorkerConfig): Promise<Session> {
  // Imported here: the parent shares this bundle and never loads the client.
  const { connect } = await import('../client/index');
  const ps = typeof config.target === 'string' ? await connect(config.target) : await connect(config.target);
  const params: Array<Awaited<ReturnType<typeof ps.parameter>>> = [];
  for (let i = 0; i < config.shapes.length; i++) {
    const p = await ps.parameter(`${config.prefix}_w${i}`, { shape: config.shapes[i]!, dtype: 'float32' });
    if (config.workerId === 0) await p.initialize({ seed: 1000 + i }); // workers start one after another
    params.push(p);
  }
  const tr = await ps.trainer(
    config.prefix,
    params,
    'sgd',
    { learningRate: 0.01, momentum: 0.9 },
    // A slow link (a low --link-mbit) must not trip the barrier's own deadline.
    { mode: 'sync', numWorkers: config.numWorkers, workerId: config.workerId, stepTimeoutMs: config.opTimeoutMs },
  );
  const grads = workerGradients(config.shapes, config.workerId);
  return {
    async step() {
      const t0 = performance.now();
      await Promise.all(
        params.map(async (p, i) => {
          const t = await p.data();
          if (t.data.byteLength !== grads[i]!.data.byteLength)
            throw new Error(`pull of ${p.name} got ${t.data.byteLength} bytes`);
        }),
      );
      const t1 = performance.now();
      await Promise.all(params.map((p, i) => tr.pushGrad(p, grads[i]!)));
      const t2 = performance.now();
      await tr.step(BATCH_SIZE);
      const t3 = performance.now();
      return { total: t3 - t0, pull: t1 - t0, push: t2 - t1, step: t3 - t2 };
    },
    close: () => ps.close(),
  };
}

/** The worker child's entry: serves step requests from the parent until told to stop. */
export function clusterWorkerMain(config: ClusterWorkerConfig): Promise<void> {
  return serveRequests<Session, { id: number }>(
    `worker ${config.workerId}`,
    () => openSession(config),
    (session) => withTimeout(session.step(), `worker ${config.workerId} step`, config.opTimeoutMs),
  );
}
