// Child of `npm run bench:durability` (bench/durability.ts): one training worker (the product
// client, client/index.ts) attached to one server per durability mode, which runs timed windows
// of sync SGD-momentum steps when told. Runs bundled under plain node with MALLOC_TUNING_ENV.
//
// Protocol (IPC): {cmd: 'setup', servers: [{mode, address}], shapes} is answered {ready} (or
// {ready: false, error}); then each {id, cmd: 'window', mode, seconds} runs steps against that
// mode's server for `seconds` and answers {id, result} or {id, error}; 'stop' or a disconnect
// ends the process (connections closed).
//
// One step: push a gradient for every parameter (tr.pushGrad, all tensors concurrently, fixed
// pseudo-random Float32Arrays prepared once), then tr.step(batch), which resolves when the
// server applied SGD-momentum (sync trainer, numWorkers 1). No pull: the harsher case for the
// durability modes (every pushed byte is journaled in the WAL modes, a pull is not).
import { performance } from 'node:perf_hooks';
import { connect, type Parameter } from '../client/index';
import { errorText } from './child-process';
import { gradient, withTimeout } from './measure';

export interface WindowResult {
  mode: string;
  steps: number;
  /** Seconds from the first step's start to the last step's end. */
  seconds: number;
  stepsPerS: number;
  /** Step latencies in ms: median, p90, max. */
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
}

export type WorkerReply =
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; result?: WindowResult; error?: string };

interface SetupCommand {
  cmd: 'setup';
  servers: Array<{ mode: string; address: string }>;
  shapes: number[][];
  /** Sync workers W, each its own connection and handle in this process (default 1). */
  workers?: number;
}
interface WindowCommand {
  id: number;
  cmd: 'window';
  mode: string;
  seconds: number;
}

const BATCH_SIZE = 32;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Session {
  step(): Promise<void>;
  close(): Promise<void>;
}

async function openSession(
  address: string,
  shapes: number[][],
  grads: Float32Array[],
  workers: number,
): Promise<Session> {
  const first = await connect(address);
  const params: Parameter[] = [];
  for (let i = 0; i < shapes.length; i++) {
    const p = await first.parameter(`bench_dur_w${i}`, { shape: shapes[i]!, dtype: 'float32' });
    await p.initialize({ seed: 1000 + i });
    params.push(p);
  }
  const conns = [first];
  for (let w = 1; w < workers; w++) conns.push(await connect(address));
  const trs = await Promise.all(
    conns.map((ps, w) =>
      ps.trainer(
        'bench_dur',
        params.map((p) => p.name),
        'sgd',
        { learningRate: 0.01, momentum: 0.9 },
        { mode: 'sync', numWorkers: workers, workerId: w },
      ),
    ),
  );
  const inputs = shapes.map((shape, i) => ({ shape, dtype: 'float32' as const, data: grads[i]! }));
  return {
    // Every worker pushes every tensor and steps; the step resolves once all W stepped.
    async step() {
      await Promise.all(
        trs.map(async (tr) => {
          await Promise.all(params.map((p, i) => tr.pushGrad(p.name, inputs[i]!)));
          await tr.step(BATCH_SIZE);
        }),
      );
    },
    close: async () => {
      await Promise.all(conns.map((c) => c.close()));
    },
  };
}

async function runWindow(session: Session, mode: string, seconds: number): Promise<WindowResult> {
  const lat: number[] = [];
  const start = performance.now();
  const until = start + seconds * 1000;
  let end = start;
  while (end < until) {
    const t = performance.now();
    await withTimeout(session.step(), `${mode} step`);
    end = performance.now();
    lat.push(end - t);
  }
  const s = (end - start) / 1000;
  lat.sort((a, b) => a - b);
  return {
    mode,
    steps: lat.length,
    seconds: s,
    stepsPerS: lat.length / s,
    p50Ms: quantile(lat, 0.5),
    p90Ms: quantile(lat, 0.9),
    maxMs: lat[lat.length - 1]!,
  };
}

function main(): void {
  const send = (m: WorkerReply): void => {
    process.send?.(m);
  };
  const sessions = new Map<string, Session>();
  let quitting = false;
  const quit = (): void => {
    if (quitting) return;
    quitting = true;
    void Promise.allSettled([...sessions.values()].map((s) => s.close())).finally(() => process.exit(0));
  };
  process.on('disconnect', quit);
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') return quit();
    const c = msg as SetupCommand | WindowCommand;
    if (c.cmd === 'setup') {
      void (async () => {
        const grads = c.shapes.map((shape, i) =>
          gradient(
            shape.reduce((a, b) => a * b, 1),
            7919 + i,
          ),
        );
        for (const s of c.servers) sessions.set(s.mode, await openSession(s.address, c.shapes, grads, c.workers ?? 1));
      })().then(
        () => send({ ready: true }),
        (err: unknown) => send({ ready: false, error: errorText(err) }),
      );
      return;
    }
    const session = sessions.get(c.mode);
    if (session === undefined) return send({ id: c.id, error: `no session for mode ${c.mode}` });
    runWindow(session, c.mode, c.seconds).then(
      (result) => send({ id: c.id, result }),
      (err: unknown) => send({ id: c.id, error: errorText(err) }),
    );
  });
  send({ ready: true });
}

main();
