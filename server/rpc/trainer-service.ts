// trainer-service.ts: the gluonps.v1.TrainerService handlers. They translate requests to the
// TrainerRegistry / Trainer calls and back; gradients and state snapshots move as chunked
// streams. The optimizer arrives as typed data (OptimizerSpec), never as code.
import type { Logger } from 'pino';
import { OPTIMIZER_KIND_CODEC, TIMEOUT_POLICY_CODEC, TRAINER_MODE_CODEC } from '../../common/proto-enums';
import { invalid, streamError, subject } from '../errors';
import type { ParameterStore } from '../store/parameter-store';
import type { LrSchedulerSpec } from '../../common/optimizer/lr-scheduler';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import type { OptimizerConfig, OptimizerParams } from '../../common/optimizer/optimizer-spec';
import type { TrainerRegistry } from '../trainer/registry';
import type { CallKey, Trainer } from '../trainer/trainer';
import type { GradUpload__Output } from '../../protos/generated/gluonps/v1/GradUpload';
import type { IdempotencyKey__Output } from '../../protos/generated/gluonps/v1/IdempotencyKey';
import type { LrScheduler, LrScheduler__Output } from '../../protos/generated/gluonps/v1/LrScheduler';
import type { OptimizerSpec, OptimizerSpec__Output } from '../../protos/generated/gluonps/v1/OptimizerSpec';
import type { StatesChunk, StatesChunk__Output } from '../../protos/generated/gluonps/v1/StatesChunk';
import type { TrainerInfo } from '../../protos/generated/gluonps/v1/TrainerInfo';
import type { TrainerServiceHandlers } from '../../protos/generated/gluonps/v1/TrainerService';
import { clientStream, serverStream, unary, type CallContext, type StreamBounds } from './calls';
import { receiveTensor, writeTensor, type UploadCall } from '../../common/wire/chunks';
import { headerShape } from './convert';
import { receiveUpload } from './uploads';
import { holdBytes } from '../memory';

/** Largest optimizer-state snapshot LoadStates buffers; each trainer's own bound is lower (Trainer.checkStatesSize). */
const MAX_STATES_BYTES = 64 * 2 ** 30;

function schedulerFromWire(s: LrScheduler__Output | null): LrSchedulerSpec | null {
  if (s === null || s.kind === '') return null;
  return {
    kind: s.kind as LrSchedulerSpec['kind'],
    step: s.step,
    steps: s.steps.length ? [...s.steps] : undefined,
    factor: s.factor,
    stopFactorLr: s.stopFactorLr,
    baseLr: s.baseLr,
    finalLr: s.finalLr,
    maxUpdate: s.maxUpdate,
    pwr: s.pwr,
    warmupSteps: s.warmupSteps,
    warmupBeginLr: s.warmupBeginLr,
    warmupMode: s.warmupMode === '' ? undefined : (s.warmupMode as LrSchedulerSpec['warmupMode']),
  };
}

function optimizerFromWire(who: string, m: OptimizerSpec__Output | null): OptimizerConfig {
  if (m === null) throw invalid(`${who}: the request has no optimizer`);
  const name = OPTIMIZER_KIND_CODEC.fromProto(m.kind);
  if (name === undefined)
    throw invalid(
      `${who}: unknown optimizer kind ${JSON.stringify(m.kind)}, expected one of ${OPTIMIZER_KIND_CODEC.protoNames.join(', ')}`,
    );
  const { kind: _kind, lrScheduler, ...rest } = m;
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k.startsWith('_') || v === undefined) continue;
    // buildOptimizer refuses these too, but its message writes the value as JSON (NaN as null).
    if (typeof v === 'number' && !Number.isFinite(v))
      throw invalid(`${who}: optimizer setting ${k} must be a finite number, got ${v}`);
    params[k] = v;
  }
  const scheduler = schedulerFromWire(lrScheduler);
  if (scheduler) params.lrScheduler = scheduler;
  return buildOptimizer(who, name, params);
}

function optimizerToWire(cfg: OptimizerConfig, learningRate: number): OptimizerSpec {
  const { lrScheduler, ...params } = cfg.params as OptimizerParams;
  const out: OptimizerSpec = { kind: OPTIMIZER_KIND_CODEC.toProto(cfg.name) };
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  out.learningRate = learningRate;
  if (lrScheduler) out.lrScheduler = { ...(lrScheduler as LrScheduler) };
  return out;
}

function keyFromWire(who: string, k: IdempotencyKey__Output | null): CallKey {
  if (k === null) throw invalid(`${who}: the call has no idempotency key (worker_id, incarnation, sequence)`);
  return { workerId: k.workerId, incarnation: k.incarnation, sequence: k.sequence };
}

function infoOf(t: Trainer): TrainerInfo {
  const st = t.state();
  return {
    name: t.spec.name,
    params: t.spec.params,
    allParams: t.spec.allParams ?? t.spec.params,
    optimizer: optimizerToWire(t.spec.optimizer, st.baseLearningRate),
    mode: TRAINER_MODE_CODEC.toProto(t.spec.mode),
    numWorkers: t.spec.numWorkers,
    step: st.step,
    learningRate: st.learningRate,
    workersSeen: st.workersSeen,
    workersLeft: st.workersLeft,
    waitingFor: st.waitingFor,
    stepTimeoutMs: t.spec.stepTimeoutMs,
    timeoutPolicy: TIMEOUT_POLICY_CODEC.toProto(t.spec.timeoutPolicy),
    quorum: t.spec.quorum,
  };
}

export function trainerServiceHandlers(
  registry: TrainerRegistry,
  store: ParameterStore,
  log: Logger,
  bounds?: StreamBounds,
): TrainerServiceHandlers {
  const ctx = (method: string): CallContext => ({ log, method, bounds });
  return {
    CreateTrainer: unary(ctx('CreateTrainer'), async (req) => {
      const who = `trainer '${req.name}'`;
      // Not set (or a value this server does not know) is sync / fail, the wire's documented defaults.
      const policy = TIMEOUT_POLICY_CODEC.fromProto(req.timeoutPolicy) ?? 'fail';
      // A full list equal to `params` is no list: one server's trainer, whoever created it.
      const same = req.allParams.length === req.params.length && req.allParams.every((p, i) => p === req.params[i]);
      const all = same ? [] : [...req.allParams];
      const t = await registry.create(
        {
          name: req.name,
          params: [...req.params],
          ...(all.length === 0 ? {} : { allParams: all }),
          optimizer: optimizerFromWire(who, req.optimizer),
          mode: TRAINER_MODE_CODEC.fromProto(req.mode) ?? 'sync',
          numWorkers: req.numWorkers,
          stepTimeoutMs: req.stepTimeoutMs ?? 30_000,
          timeoutPolicy: policy,
          quorum: policy === 'quorum' ? req.quorum : 0,
        },
        req.workerId,
      );
      return infoOf(t);
    }),

    PushGrad: clientStream(ctx('PushGrad'), async (call: UploadCall, onName) => {
      let key: CallKey | null = null;
      // The bytes land straight in a tensor for the gradient when they can (no second copy).
      const {
        first: m,
        header,
        value,
        staged,
        release,
      } = await receiveUpload<GradUpload__Output>(
        call,
        { maxBytes: store.maxTensorBytes, nameField: 'param' },
        (first, header) => {
          onName(first.param);
          const trainer = registry.get(first.trainer);
          key = keyFromWire(`trainer '${first.trainer}'`, first.key);
          const { dtype, shape } = headerShape(subject(first.param), header);
          store.checkTensorHeader(subject(first.param), dtype, shape, header.byteLength);
          return { dtype, shape, staged: trainer.stageGrad(first.param, dtype, shape) };
        },
      );
      try {
        let trainer: Trainer;
        try {
          trainer = registry.get(m.trainer); // it may have been closed while the bytes arrived
        } catch (err) {
          staged?.dispose();
          throw err;
        }
        // Empty row ids are a dense gradient, unless the push says it is row_sparse (no rows).
        const rowIds =
          header.rowIds.length > 0 || m.rowSparse ? BigInt64Array.from(header.rowIds, (v) => BigInt(v)) : null;
        return await trainer.pushGrad(key!, m.step, m.param, value, rowIds, staged); // pushGrad owns `staged`
      } finally {
        release();
      }
    }),

    Step: unary(ctx('Step'), async (req) => {
      const t = registry.get(req.trainer);
      // A cluster client's decider's decision (server/trainer/follower.ts); absent: a barrier here.
      const d = req.decision;
      const decision =
        d === null ? null : { applied: d.applied, workers: [...d.workers], step: d.step, batch: d.batchSize };
      const r = await t.step(keyFromWire(`trainer '${req.trainer}'`, req.key), req.step, req.batchSize, decision);
      return { step: r.step, versions: r.versions.map(Number), workers: r.workers, batchSize: r.batch ?? 0 };
    }),

    Leave: unary(ctx('Leave'), async (req) => {
      const t = registry.get(req.trainer);
      await t.leave(req.workerId);
      return infoOf(t);
    }),

    SetLearningRate: unary(ctx('SetLearningRate'), async (req) => {
      const t = registry.get(req.trainer);
      await t.setLearningRate(req.learningRate);
      return infoOf(t);
    }),

    DescribeTrainer: unary(ctx('DescribeTrainer'), (req) => infoOf(registry.get(req.name))),

    SaveStates: serverStream(ctx('SaveStates'), async (req, call, signal) => {
      const { bytes, release } = await registry.get(req.name).saveStates();
      try {
        await writeTensor<StatesChunk>(call, { trainer: req.name, byteLength: bytes.byteLength }, bytes, {
          signal,
          makeError: streamError,
        });
      } finally {
        release();
      }
    }),

    LoadStates: clientStream(ctx('LoadStates'), async (call: UploadCall, onName) => {
      let trainer = '';
      let release = (): void => undefined;
      try {
        const { data } = await receiveTensor<{ trainer: string; byteLength: number }>(call, {
          // The first message's own fields (trainer, byte_length) play the tensor header's part.
          headerOf: (m, i) =>
            i === 0
              ? {
                  trainer: (m as unknown as StatesChunk__Output).trainer,
                  byteLength: (m as unknown as StatesChunk__Output).byteLength,
                }
              : null,
          maxBytes: MAX_STATES_BYTES,
          makeError: streamError,
          validateHeader: (h) => {
            trainer = h.trainer;
            onName(trainer);
            // What the trainer's states could legitimately hold, and one log record: checked
            // before the body is buffered.
            registry.get(trainer).checkStatesSize(Number(h.byteLength));
          },
          // The body is buffered whole: it counts against the memory budget until loaded.
          allocate: (n) => {
            release = holdBytes(`trainer '${trainer}': receiving the states`, n);
            return Buffer.allocUnsafeSlow(n);
          },
        });
        const t = registry.get(trainer);
        await t.loadStates(data);
        return infoOf(t);
      } finally {
        release();
      }
    }),
  };
}
