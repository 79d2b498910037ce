// AdminService.GetStatus and ListTrainers against real servers: the snapshot's numbers are
// checked against what the test did (bytes declared on each context, gradients and optimizer
// states, steps applied, the worker a sync step waits for while one worker is missing, a
// checkpoint taken, the log on disk, a warning logged), and the calls need a full-access token.
// In its own file because the memory budget is process-wide state of the native addon.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, cpu, init, Status } from '../../client/index';
import type { ParameterServerClient, ServerStatus, TrainerStatus } from '../../client/index';
import type { ServerOptions } from '../../server/index';
import type { Harness } from './helpers';
import { f32, rejectsWith, startHarness } from './helpers';

const MiB = 1024 * 1024;
const open: Array<{ close(): Promise<void> }> = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const h of open.splice(0).reverse()) await h.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function harness(options: ServerOptions = {}): Promise<Harness> {
  const h = await startHarness(options);
  open.push(h);
  return h;
}

async function client(address: string, token?: string): Promise<ParameterServerClient> {
  const ps = await connect(address, { connectTimeoutMs: 5000, ...(token === undefined ? {} : { token }) });
  open.push(ps);
  return ps;
}

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gluonps-status-'));
  dirs.push(d);
  return d;
}

/** Polls GetStatus until `ready` holds for the trainer (the server got a call the test sent). */
async function untilTrainer(
  ps: ParameterServerClient,
  name: string,
  ready: (t: TrainerStatus) => boolean,
): Promise<TrainerStatus> {
  for (;;) {
    const s = await ps.status({ trainer: name });
    const t = s.trainers[0]!;
    if (ready(t)) return t;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const device = (s: ServerStatus, name: string) => s.memory.devices.find((d) => d.device === name);

describe('GetStatus', () => {
  it('reports version, uptime, health, address, security, and memory by device and kind', async () => {
    const before = Date.now();
    const h = await harness({ memoryBudget: 256 * MiB, maxCpuContexts: 4 });
    const ps = h.ps;
    // 12 float32 = 48 bytes per copy, on two contexts, with a gradient beside each copy.
    const w = await ps.parameter('w', { shape: [3, 4], init: init.one() });
    await w.initialize({ ctx: [cpu(0), cpu(1)] });
    // 5 float64 = 40 bytes, no gradient.
    const b = await ps.parameter('b', { shape: [5], dtype: 'float64', gradReq: 'null' });
    await b.initialize({ ctx: cpu(0) });
    const c = await ps.constant('c', f32([2], [1, 2])); // 8 bytes
    await c.initialize({ ctx: cpu(1) });
    await ps.parameter('later', { shape: [0, 3], allowDeferredInit: true }).then((p) => p.initialize());

    const s = await ps.status();
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.startedUnixMs).toBeGreaterThanOrEqual(before);
    expect(s.timeUnixMs).toBeGreaterThanOrEqual(s.startedUnixMs);
    expect(s.uptimeMs).toBe(s.timeUnixMs - s.startedUnixMs);
    expect(s.health).toEqual({ status: 'SERVING', reason: '' });
    expect(s.address).toBe(h.server.address);
    expect(s.security).toEqual({ tls: 'off', auth: false, fullAccessTokens: 0, readOnlyTokens: 0 });
    expect(s.devices).toContain('cpu');
    expect(s.durability).toBeNull();
    expect(s.parameters).toEqual({ parameters: 3, constants: 1, initialized: 3, deferred: 1, bytes: 48 * 2 + 40 + 8 });

    const cpu0 = device(s, 'cpu(0)')!;
    const cpu1 = device(s, 'cpu(1)')!;
    expect(cpu0.byKind).toMatchObject({ parameters: 48 + 40, gradients: 48, constants: 0, optimizerStates: 0 });
    expect(cpu1.byKind).toMatchObject({ parameters: 48, gradients: 48, constants: 8, optimizerStates: 0 });
    // One budget for the whole server, and everything held counted against it.
    expect(s.memory.budgetBytes).toBe(256 * MiB);
    expect(s.memory.heldBytes).toBeGreaterThanOrEqual(s.memory.allocatedBytes + s.memory.hostHeapBytes);
    expect(s.memory.hostHeapBytes).toBeGreaterThanOrEqual(8); // the constant's value
    for (const d of [cpu0, cpu1]) {
      expect(d.allocatedBytes).toBeGreaterThanOrEqual(d.byKind.parameters + d.byKind.gradients + d.byKind.constants);
      expect(d.peakBytes).toBeGreaterThanOrEqual(d.allocatedBytes);
    }
    expect(device(s, 'cpu(3)')).toBeUndefined(); // never used
    expect(s.memory.byKind.parameters).toBe(48 * 2 + 40);
    expect(s.memory.byKind.gradients).toBe(48 * 2);
    expect(s.memory.byKind.constants).toBe(8);
    expect(s.memory.allocatedBytes).toBe(s.memory.devices.reduce((a, d) => a + d.allocatedBytes, 0));
  });

  it('follows a sync trainer: the worker an open step waits for, since when, steps and states', async () => {
    const h = await harness();
    const ps0 = h.ps;
    const ps1 = await client(h.server.address);
    const w = await ps0.parameter('w', { shape: [4], init: init.zero() });
    await w.initialize({ ctx: [cpu(0), cpu(1)] });
    const opts = { numWorkers: 2, stepTimeoutMs: 600_000 };
    const t0 = await ps0.trainer('sync', ['w'], 'adam', { learningRate: 0.25 }, { ...opts, workerId: 0 });
    const t1 = await ps1.trainer('sync', ['w'], 'adam', { learningRate: 0.25 }, { ...opts, workerId: 1 });

    let t = (await ps0.status()).trainers.find((x) => x.name === 'sync')!;
    expect(t).toMatchObject({
      mode: 'sync',
      optimizer: 'adam',
      params: 1,
      numWorkers: 2,
      workersSeen: 2,
      step: 0,
      learningRate: 0.25,
      openStep: null,
      recentSteps: 0,
      lastStepUnixMs: null,
    });

    // Worker 0 steps; worker 1 has not: the step waits for worker 1.
    await t0.pushGrad('w', f32([4], [1, 2, 3, 4]));
    const beforeStep = Date.now();
    const stepped0 = t0.step(1);
    t = await untilTrainer(ps0, 'sync', (x) => x.openStep !== null);
    expect(t.openStep).toMatchObject({ step: 0, stepped: 1, waitingFor: [1], waitingCount: 1, applying: false });
    expect(t.openStep!.sinceUnixMs).toBeGreaterThanOrEqual(beforeStep);
    expect(t.openStep!.waitedMs).toBeGreaterThanOrEqual(0);
    // Worker 0's gradient (16 bytes) is staged on the parameter's first context.
    let s = await ps0.status();
    expect(device(s, 'cpu(0)')!.byKind.stagedGradients).toBe(16);
    expect((await ps0.listTrainers()).find((x) => x.name === 'sync')!.description).toBe(
      'sync adam, 1 param, 2 workers, step 0, waiting for 1 worker',
    );

    await t1.pushGrad('w', f32([4], [1, 1, 1, 1]));
    await Promise.all([stepped0, t1.step(1)]);
    s = await ps0.status();
    t = s.trainers.find((x) => x.name === 'sync')!;
    expect(t).toMatchObject({ step: 1, openStep: null, recentSteps: 1 });
    expect(t.lastStepUnixMs).toBeGreaterThanOrEqual(beforeStep);
    // Adam keeps two states (mean, variance) per context: 2 x 16 bytes on each of cpu(0), cpu(1).
    expect(device(s, 'cpu(0)')!.byKind).toMatchObject({ optimizerStates: 32, stagedGradients: 0 });
    expect(device(s, 'cpu(1)')!.byKind.optimizerStates).toBe(32);

    // A second step: two steps in the window, a rate above zero.
    await t0.pushGrad('w', f32([4], [1, 1, 1, 1]));
    await t1.pushGrad('w', f32([4], [1, 1, 1, 1]));
    await Promise.all([t0.step(1), t1.step(1)]);
    t = (await ps0.status({ trainer: 'sync' })).trainers[0]!;
    expect(t).toMatchObject({ step: 2, recentSteps: 2 });
    expect(t.stepsPerSecond).toBeGreaterThan(0);

    // Worker 1 leaves: reported, and a new step from worker 0 alone waits for no one.
    await t1.leave();
    t = (await ps0.status({ trainer: 'sync' })).trainers[0]!;
    expect(t.workersLeft).toEqual([1]);
  });

  it('GetStatus for one trainer, and an unknown trainer is NOT_FOUND naming it', async () => {
    const h = await harness();
    const w = await h.ps.parameter('w', { shape: [2], init: init.zero() });
    await w.initialize();
    await h.ps.trainer('a', ['w'], 'sgd', { learningRate: 1 }, { mode: 'async' });
    await h.ps.trainer('b', ['w'], 'sgd', { learningRate: 2, momentum: 0.9 }, { mode: 'async' });
    expect((await h.ps.status()).trainers.map((t) => t.name)).toEqual(['a', 'b']);
    const only = await h.ps.status({ trainer: 'b' });
    expect(only.trainers).toHaveLength(1);
    expect(only.trainers[0]).toMatchObject({ name: 'b', mode: 'async', learningRate: 2, openStep: null });
    await rejectsWith(h.ps.status({ trainer: 'nope' }), Status.NOT_FOUND, /^trainer 'nope' does not exist$/);
    expect(await h.ps.listTrainers()).toEqual([
      { name: 'a', description: 'async sgd, 1 param, 1 worker, step 0' },
      { name: 'b', description: 'async sgd, 1 param, 1 worker, step 0' },
    ]);
  });

  it('reports the data dir: mode, the checkpoint taken, the log on disk, and the recovered checkpoint', async () => {
    const dir = tempDir();
    let h = await harness({ dataDir: dir, durability: 'wal-always' });
    const w = await h.ps.parameter('w', { shape: [256], init: init.zero() });
    await w.initialize();
    const tr = await h.ps.trainer('t', ['w'], 'sgd', { learningRate: 1 }, { mode: 'async' });
    await tr.pushGrad('w', f32([256], new Float32Array(256).fill(1)));
    await tr.step(1);

    let s = await h.ps.status();
    expect(s.durability).toMatchObject({ mode: 'wal-always', dataDir: dir, lastCheckpoint: null, lastError: null });
    expect(s.durability!.changesSinceCheckpoint).toBeGreaterThan(0);
    // The step's record holds the 1 KiB gradient.
    expect(s.durability!.wal!.segments).toBeGreaterThanOrEqual(1);
    expect(s.durability!.wal!.appendedBytes).toBeGreaterThan(1024);
    expect(s.durability!.wal!.bytes).toBeGreaterThanOrEqual(s.durability!.wal!.appendedBytes);
    const lsn = s.durability!.wal!.lastLsn;
    expect(lsn).toBeGreaterThan(0);

    const before = Date.now();
    const { id } = await h.ps.checkpoint({ reason: 'status test' });
    s = await h.ps.status();
    expect(s.durability!.lastCheckpoint).toMatchObject({
      id,
      lsn,
      reason: 'status test',
      trainerSteps: [{ trainer: 't', step: 1 }],
    });
    expect(s.durability!.lastCheckpoint!.timeUnixMs).toBeGreaterThanOrEqual(before - 1000);
    expect(s.durability!.lastCheckpoint!.bytes).toBeGreaterThan(1024); // the parameter's 1 KiB and more
    expect(s.durability!.changesSinceCheckpoint).toBe(0);

    // Restarted on the same dir: the shutdown checkpoint is the one it recovered from.
    await open.pop()!.close();
    h = await harness({ dataDir: dir, durability: 'checkpoint' });
    s = await h.ps.status();
    expect(s.durability).toMatchObject({ mode: 'checkpoint', wal: null });
    expect(s.durability!.lastCheckpoint).toMatchObject({
      id: id + 1,
      reason: 'recovered',
      durationMs: 0,
      trainerSteps: [{ trainer: 't', step: 1 }],
    });
    expect(s.trainers[0]).toMatchObject({ name: 't', step: 1, lastStepUnixMs: null });
  });

  it('keeps the last warnings the log wrote, with their fields', async () => {
    // At log level warn the ring sees warnings (it records what the log records).
    const h = await harness({ logLevel: 'warn' });
    const w = await h.ps.parameter('warned', { shape: [2], init: init.zero() });
    await w.initialize();
    await w.initialize(); // initialized already: ignored with a warning, as in Gluon
    const s = await h.ps.status();
    expect(s.warningsTotal).toBeGreaterThanOrEqual(1);
    const last = s.warnings[s.warnings.length - 1]!;
    expect(last.level).toBe('warn');
    expect(last.message).toMatch(/initialize/);
    expect(JSON.stringify(last.fields)).toContain('warned');
  });
});

describe('tokens', () => {
  it('GetStatus and ListTrainers need a full-access token; the status names no token', async () => {
    const full = 'status-full-token-0123456789';
    const reader = 'status-reader-token-0123456789';
    const h = await harness({ auth: { tokens: [full], readOnlyTokens: [reader] } });
    open.splice(open.indexOf(h), 1);
    open.push({ close: () => h.server.close(2000) }); // its own client has no token
    await h.ps.close();
    const admin = await client(h.server.address, full);
    const s = await admin.status();
    expect(s.security).toEqual({ tls: 'off', auth: true, fullAccessTokens: 1, readOnlyTokens: 1 });
    expect(JSON.stringify(s)).not.toContain(full);
    expect(JSON.stringify(s)).not.toContain(reader);
    expect(await admin.listTrainers()).toEqual([]);

    const ro = await client(h.server.address, reader);
    await rejectsWith(ro.status(), Status.PERMISSION_DENIED, /GetStatus/);
    await rejectsWith(ro.listTrainers(), Status.PERMISSION_DENIED, /ListTrainers/);
    const anon = await client(h.server.address);
    await rejectsWith(anon.status(), Status.UNAUTHENTICATED, /missing bearer token/);
  });
});
