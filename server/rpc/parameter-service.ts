// parameter-service.ts: the gluonps.v1.ParameterService handlers. Each one translates the
// request (convert.ts), calls the ParameterStore and translates the reply; tensors move as
// chunked streams (chunks.ts). No tensor logic lives here.
import type * as grpc from '@grpc/grpc-js';
import type { DeviceTensor } from '../../native/index';
import type { Logger } from 'pino';
import { exists, notFound, streamError, subject } from '../errors';
import type { HostTensor, ParameterStore, RowSparseSnapshot, TensorSnapshot } from '../store/parameter-store';
import type { ParameterServiceHandlers } from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorChunk } from '../../protos/generated/gluonps/v1/TensorChunk';
import { clientStream, serverStream, unary } from './calls';
import type { CallContext, StreamBounds } from './calls';
import { writeTensor, type UploadCall } from '../../common/wire/chunks';
import { DTYPE_CODEC } from '../../common/proto-enums';
import {
  contextFromWire,
  contextsFromWire,
  contextToWire,
  dtypeFromWire,
  headerShape,
  infoToWire,
  initFromWire,
  partFromWire,
  specFromWire,
} from './convert';
import type { PartSpec } from '../store/spec';
import type { ParameterPart__Output } from '../../protos/generated/gluonps/v1/ParameterPart';
import { receiveUpload } from './uploads';
import { checkAfter } from '../store/order';

async function sendSnapshots(
  call: grpc.ServerWritableStream<unknown, TensorChunk>,
  snaps: Array<TensorSnapshot | RowSparseSnapshot>,
  signal: AbortSignal,
): Promise<void> {
  try {
    await sendEach(call, snaps, signal);
  } finally {
    for (const s of snaps) s.release();
  }
}

async function sendEach(
  call: grpc.ServerWritableStream<unknown, TensorChunk>,
  snaps: Array<TensorSnapshot | RowSparseSnapshot>,
  signal: AbortSignal,
): Promise<void> {
  for (const s of snaps) {
    const header = {
      shape: s.shape,
      dtype: DTYPE_CODEC.toProto(s.dtype),
      byteLength: s.bytes.byteLength,
      version: Number(s.version),
      rowIds: 'indices' in s ? Array.from(s.indices, Number) : [],
      ctx: contextToWire(s.ctx),
    };
    await writeTensor<TensorChunk>(call, { header }, s.bytes, { signal, makeError: streamError });
  }
}

export function parameterServiceHandlers(
  store: ParameterStore,
  log: Logger,
  bounds?: StreamBounds,
): ParameterServiceHandlers {
  const ctx = (method: string): CallContext => ({ log, method, bounds });

  /** Receives one uploaded tensor, checking the header before any byte is buffered. */
  const receive = async (
    call: UploadCall,
    onName: (name: string) => void,
    requireExisting: boolean,
    stage?: (name: string, dtype: HostTensor['dtype'], shape: number[]) => DeviceTensor | null,
  ): Promise<{
    name: string;
    value: HostTensor;
    staged: DeviceTensor | null;
    part: PartSpec | null;
    after: number | undefined;
    release: () => void;
  }> => {
    const { first, value, staged, release } = await receiveUpload<{
      name: string;
      part?: ParameterPart__Output | null;
      after?: number;
    }>(call, { maxBytes: store.maxTensorBytes, nameField: 'name' }, (m, header) => {
      const name = m.name;
      onName(name);
      if (requireExisting && !store.has(name)) throw notFound(`parameter '${name}' does not exist`);
      const { shape, dtype } = headerShape(subject(name), header);
      store.checkTensorHeader(subject(name), dtype, shape, header.byteLength);
      return { dtype, shape, staged: stage?.(name, dtype, shape) ?? null };
    });
    return { name: first.name, value, staged, part: partFromWire(first.part), after: first.after, release };
  };

  return {
    Declare: unary(ctx('Declare'), async (req) => {
      const spec = specFromWire(req.spec);
      const after = checkAfter(`declare: parameter '${req.spec?.name ?? ''}'`, req.after);
      return infoToWire(await store.declare(spec, { after }));
    }),

    DeclareConstant: clientStream(ctx('DeclareConstant'), async (call: UploadCall, onName) => {
      const { name, value, part, after, release } = await receive(call, onName, false);
      try {
        const order = { after: checkAfter(`declare_constant: constant '${name}'`, after) };
        if (store.has(name) && !store.describe(name).isConstant)
          throw exists(`constant '${name}': the name is already a (non-constant) parameter`);
        return infoToWire(await store.declareConstant(name, value, part, order));
      } finally {
        release();
      }
    }),

    Get: unary(ctx('Get'), (req) => infoToWire(store.describe(req.name))),
    Describe: unary(ctx('Describe'), (req) => infoToWire(store.describe(req.name))),
    List: unary(ctx('List'), () => ({ parameters: store.list().map(infoToWire) })),

    Initialize: unary(ctx('Initialize'), async (req) => {
      const who = subject(req.name);
      if (!store.has(req.name)) throw notFound(`parameter '${req.name}' does not exist`);
      const d = await store.initialize(req.name, {
        init: initFromWire(who, req.init),
        ctx: contextsFromWire(who, req.ctx),
        defaultInit: initFromWire(who, req.defaultInit),
        forceReinit: req.forceReinit,
        structuralName: req.structuralName,
        seed: req.seed ?? null,
      });
      return infoToWire(d);
    }),

    Data: serverStream(ctx('Data'), async (req, call, signal) => {
      const snap = await store.data(req.name, contextFromWire(subject(req.name), req.ctx));
      await sendSnapshots(call, [snap], signal);
    }),
    ListData: serverStream(ctx('ListData'), async (req, call, signal) => {
      await sendSnapshots(call, await store.listData(req.name), signal);
    }),
    Grad: serverStream(ctx('Grad'), async (req, call, signal) => {
      const snap = await store.grad(req.name, contextFromWire(subject(req.name), req.ctx));
      await sendSnapshots(call, [snap], signal);
    }),
    ListGrad: serverStream(ctx('ListGrad'), async (req, call, signal) => {
      await sendSnapshots(call, await store.listGrad(req.name), signal);
    }),
    RowSparseData: serverStream(ctx('RowSparseData'), async (req, call, signal) => {
      const snap = await store.rowSparseData(req.name, req.rowIds, contextFromWire(subject(req.name), req.ctx));
      await sendSnapshots(call, [snap], signal);
    }),
    ListRowSparseData: serverStream(ctx('ListRowSparseData'), async (req, call, signal) => {
      await sendSnapshots(call, await store.listRowSparseData(req.name, req.rowIds), signal);
    }),

    ListCtx: unary(ctx('ListCtx'), async (req) => {
      const list = await store.listCtx(req.name);
      const d = store.describe(req.name);
      return { ctx: list.map(contextToWire), deferred: d.deferred, version: Number(d.version) };
    }),
    ResetCtx: unary(ctx('ResetCtx'), async (req) => {
      const who = subject(req.name);
      return infoToWire(await store.resetCtx(req.name, contextsFromWire(who, req.ctx) ?? []));
    }),

    SetData: clientStream(ctx('SetData'), async (call: UploadCall, onName) => {
      // The bytes land straight in a new tensor of the parameter when they can (no second copy).
      const { name, value, staged, release } = await receive(call, onName, true, (n, dtype, shape) =>
        store.stageUpload(n, dtype, shape),
      );
      try {
        return infoToWire(await store.setData(name, value, staged)); // setData owns `staged`
      } finally {
        release();
      }
    }),

    ZeroGrad: unary(ctx('ZeroGrad'), async (req) => infoToWire(await store.zeroGrad(req.name))),
    Cast: unary(ctx('Cast'), async (req) => {
      store.entry(req.name);
      return infoToWire(await store.cast(req.name, dtypeFromWire(subject(req.name), req.dtype)));
    }),
    SetShape: unary(ctx('SetShape'), async (req) => infoToWire(await store.setShape(req.name, req.shape))),
    Var: unary(ctx('Var'), (req) => store.var(req.name)),
  };
}
