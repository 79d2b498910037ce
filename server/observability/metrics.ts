// metrics.ts: one server's Prometheus metrics in its own prom-client Registry (tests run several
// servers in one process, and each must report only its own). The gRPC series come from the
// call observer (grpc-metrics.ts); the trainers and the data dir report events (steps, deadlines,
// retries, checkpoints, fsyncs) through small callbacks; everything that is a state rather than
// an event (memory by kind and device, steps applied, workers a step waits for, log counters) is
// read when scraped. prom-client writes the exposition format and the process metrics.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Durability, DurabilityEvents } from '../durability/durability';
import type { CallCounter } from '../rpc/call-limits';
import type { ParameterStore } from '../store/parameter-store';
import type { TrainerRegistry } from '../trainer/registry';
import type { TrainerEvents } from '../trainer/types';
import { HistogramFamily, ValueFamily } from './families';
import type { HistogramChild, Value } from './families';
import { GrpcMetrics } from './grpc-metrics';
import { memoryStatus, parametersStatus } from './status';
import { MEMORY_KINDS } from '../../common/status';

/** Prometheus label values are snake_case. */
const SNAKE: Record<(typeof MEMORY_KINDS)[number], string> = {
  parameters: 'parameters',
  gradients: 'gradients',
  optimizerStates: 'optimizer_states',
  stagedGradients: 'staged_gradients',
  constants: 'constants',
  other: 'other',
};

const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BARRIER_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const FSYNC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const CHECKPOINT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface MetricsSources {
  store: ParameterStore;
  trainers: TrainerRegistry;
  durability: () => Durability | null;
  inFlight: CallCounter;
  /** This server's shard of a cluster (null: a lone server): every series then carries `shard`. */
  shard: { index: number; cluster: string } | null;
}

interface TrainerSeries {
  step: HistogramChild;
  barrier: HistogramChild;
  quorum: Value;
  timeout: Value;
  replayed: Value;
}

/** A family read at scrape time, registered in `registry`. */
const gauge = (registry: Registry, name: string, help: string, labels: string[] = []): ValueFamily =>
  new ValueFamily('gauge', name, help, labels).register(registry);
const counter = (registry: Registry, name: string, help: string, labels: string[] = []): ValueFamily =>
  new ValueFamily('counter', name, help, labels).register(registry);

export class ServerMetrics {
  readonly registry = new Registry();
  readonly grpc: GrpcMetrics;
  readonly trainerEvents: TrainerEvents;
  readonly durabilityEvents: DurabilityEvents;
  /** Steps applied since start and the seconds they took, per trainer that stepped (the status page's history). */
  readonly trainerSteps: () => Map<string, { steps: number; seconds: number }>;
  /** Fill the families that mirror state (memory, trainers, log counters) just before a scrape. */
  private readonly refreshers: Array<() => void> = [];

  constructor(sources: MetricsSources) {
    const r = this.registry;
    // Each shard exports its own series; the label tells them apart once a Prometheus scrapes all.
    if (sources.shard !== null)
      r.setDefaultLabels({ shard: String(sources.shard.index), cluster: sources.shard.cluster });
    this.grpc = new GrpcMetrics(r);
    collectDefaultMetrics({ register: r });

    // --- Trainers: events ---
    const stepSeconds = new HistogramFamily(
      'gluonps_trainer_step_seconds',
      'Time from a step closing (its barrier complete, or an async step call) to its answer: sum, log record, optimizer kernels.',
      ['trainer'],
      STEP_BUCKETS,
    ).register(r);
    const barrierSeconds = new HistogramFamily(
      'gluonps_trainer_barrier_wait_seconds',
      'Sync steps: time from the first worker stepping to the barrier closing (the wait for the slowest worker).',
      ['trainer'],
      BARRIER_BUCKETS,
    ).register(r);
    const deadlines = counter(
      r,
      'gluonps_trainer_step_deadlines_total',
      "Sync steps whose step_timeout_ms passed, by outcome: 'quorum' (applied with the workers present), 'timeout' (failed).",
      ['trainer', 'outcome'],
    );
    const replayed = counter(
      r,
      'gluonps_trainer_replayed_calls_total',
      'Pushes and steps answered from an earlier call with the same idempotency key (client retries), not applied again.',
      ['trainer'],
    );
    const byTrainer = new Map<string, TrainerSeries>();
    const seriesOf = (name: string): TrainerSeries => {
      let s = byTrainer.get(name);
      if (s === undefined) {
        s = {
          step: stepSeconds.child(name),
          barrier: barrierSeconds.child(name),
          quorum: deadlines.child(name, 'quorum'),
          timeout: deadlines.child(name, 'timeout'),
          replayed: replayed.child(name),
        };
        byTrainer.set(name, s);
      }
      return s;
    };
    this.trainerSteps = () => {
      const out = new Map<string, { steps: number; seconds: number }>();
      for (const [name, s] of byTrainer) out.set(name, { steps: s.step.count, seconds: s.step.sum });
      return out;
    };
    this.trainerEvents = {
      stepApplied: (name, barrier, apply) => {
        const s = seriesOf(name);
        s.step.observe(apply);
        if (barrier !== null) s.barrier.observe(barrier);
      },
      deadline: (name, outcome) => seriesOf(name)[outcome].value++,
      replayed: (name) => seriesOf(name).replayed.value++,
    };

    // --- Trainers: state, read when scraped ---
    const steps = counter(r, 'gluonps_trainer_steps_total', 'Steps applied by the trainer.', ['trainer']);
    const waiting = gauge(
      r,
      'gluonps_trainer_waiting_workers',
      'Workers the open sync step is still waiting for (0 when no step is open).',
      ['trainer'],
    );
    const openFor = gauge(
      r,
      'gluonps_trainer_open_step_seconds',
      'How long the open sync step has been waiting since its first worker stepped (0 when none is open).',
      ['trainer'],
    );
    const active = gauge(r, 'gluonps_trainer_workers', 'Workers of the trainer that have not left.', ['trainer']);
    this.refreshers.push(() => {
      const now = Date.now();
      for (const f of [steps, waiting, openFor, active]) f.clear();
      for (const t of sources.trainers.all()) {
        const name = t.spec.name;
        const st = t.state();
        steps.set(st.step, name);
        waiting.set(st.waitingCount, name);
        openFor.set(t.open !== null && !t.open.applying ? Math.max(0, now - t.open.openedAt) / 1000 : 0, name);
        active.set(t.spec.numWorkers - t.left.size, name);
      }
    });

    // --- Store and memory ---
    const inFlight = gauge(r, 'gluonps_calls_in_flight', 'Calls of the gluonps services in flight.');
    const params = gauge(r, 'gluonps_parameters', 'Parameters held, by kind (parameter or constant).', ['kind']);
    const memory = gauge(
      r,
      'gluonps_memory_bytes',
      'Tensor memory held on each device by kind: parameters, gradients, optimizer_states, staged_gradients (pushed, waiting for their step), constants, other (uploads in flight, a step being summed).',
      ['device', 'kind'],
    );
    const staging = gauge(
      r,
      'gluonps_read_staging_bytes',
      'Host copies of tensors being sent to readers (counted against the memory budget).',
    );
    const device = gauge(r, 'gluonps_device_memory_bytes', 'Tensor bytes allocated on each device.', ['device']);
    const peak = gauge(r, 'gluonps_device_memory_peak_bytes', 'Most tensor bytes allocated on each device.', [
      'device',
    ]);
    const budget = gauge(r, 'gluonps_memory_budget_bytes', 'The one --memory-budget of the server (absent: none).');
    const held = gauge(
      r,
      'gluonps_memory_held_bytes',
      'Bytes counted against the memory budget: tensors on every device, host copies being sent, host memory held for callers.',
    );
    this.refreshers.push(() => {
      const counts = parametersStatus(sources.store);
      params.set(counts.parameters, 'parameter');
      params.set(counts.constants, 'constant');
      const mem = memoryStatus(sources.store, sources.trainers.all());
      for (const f of [memory, device, peak, budget]) f.clear();
      for (const d of mem.devices) {
        for (const kind of MEMORY_KINDS) memory.set(d.byKind[kind], d.device, SNAKE[kind]);
        device.set(d.allocatedBytes, d.device);
        peak.set(d.peakBytes, d.device);
      }
      if (mem.budgetBytes !== null) budget.set(mem.budgetBytes);
      held.set(mem.heldBytes);
      staging.set(mem.readStagingBytes);
      inFlight.set(sources.inFlight.inFlight);
    });

    // --- Durability ---
    const walAppends = counter(r, 'gluonps_wal_appends_total', 'Records appended to the write-ahead log.');
    const walBytes = counter(r, 'gluonps_wal_bytes_total', 'Bytes written to the write-ahead log.');
    const walFsyncs = counter(r, 'gluonps_wal_fsyncs_total', 'fdatasyncs of the write-ahead log.');
    const walBatches = counter(r, 'gluonps_wal_writes_total', 'Group-commit writes (writev) of the write-ahead log.');
    this.refreshers.push(() => {
      const s = sources.durability()?.walStats();
      walAppends.set(s?.appends ?? 0);
      walBytes.set(s?.bytes ?? 0);
      walFsyncs.set(s?.fsyncs ?? 0);
      walBatches.set(s?.batches ?? 0);
    });
    const fsync = new HistogramFamily(
      'gluonps_wal_fsync_seconds',
      'Duration of each fdatasync of the write-ahead log.',
      [],
      FSYNC_BUCKETS,
    ).register(r);
    const checkpoint = new HistogramFamily(
      'gluonps_checkpoint_seconds',
      'Duration of each checkpoint (snapshot, write, fsync, prune).',
      [],
      CHECKPOINT_BUCKETS,
    ).register(r);
    const checkpointBytes = gauge(
      r,
      'gluonps_checkpoint_bytes',
      'Bytes of the newest checkpoint (written, or recovered from at start).',
    );
    const checkpointTime = gauge(
      r,
      'gluonps_checkpoint_last_timestamp_seconds',
      'When the newest checkpoint was written (Unix time; 0: none).',
    );
    const recovery = gauge(
      r,
      'gluonps_recovery_seconds',
      'How long the start-up recovery took (checkpoint load and log replay; 0 without a data dir).',
    );
    this.refreshers.push(() => {
      const d = sources.durability();
      checkpointTime.set((d?.lastCheckpoint?.timeUnixMs ?? 0) / 1000);
      checkpointBytes.set(d?.lastCheckpoint?.bytes ?? 0);
      recovery.set(d?.recoverySeconds ?? 0);
    });
    const fsyncChild = fsync.child();
    const checkpointChild = checkpoint.child();
    this.durabilityEvents = {
      checkpointWritten: (seconds) => checkpointChild.observe(seconds),
      walSynced: (seconds) => fsyncChild.observe(seconds),
    };
  }

  /** The exposition text (Prometheus 0.0.4) and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    for (const refresh of this.refreshers) refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
