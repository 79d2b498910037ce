// Every status of the client contract's error table, reached through the real client (and, for
// checks the client makes impossible to send, through the raw generated stub): each failed call
// rejects with an Error carrying the numeric gRPC code and a message naming the parameter, what
// was expected and what was received. Also: a failed write changes nothing on any context.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, gpu, GluonPsError, init, Parameter, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { Channel } from '../../client/channel';
import { pushTensor } from '../../client/transport';
import * as nk from '../../native/index';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../../protos/load';
import { ClusterParameter } from '../../client/cluster/parameter';
import { Shards } from '../../client/cluster/shards';
import type { Harness } from './helpers';
import { f32, numbers, rejectsWith, startHarness } from './helpers';
import { onCluster, singleServerOnly } from './suite-target';
import { RawTrainerService, trainerRequest } from './trainer-helpers';

let h: Harness;
let ps: ParameterServerClient;
/** On a cluster: the cluster client's shards, for handles on names that do not exist. */
let shards: Shards | null = null;
const stubs: ParameterServiceClient[] = [];

beforeAll(async () => {
  h = await startHarness();
  ps = h.ps;
  if (onCluster) shards = await Shards.open(h.target as string[], { connectTimeoutMs: 10_000 });
});
afterAll(async () => {
  for (const s of stubs) s.close();
  shards?.close();
  await h?.close();
});

/** The raw ParameterService stub reaching parameter `name` (on a cluster: its home shard, routed). */
function stubFor(name: string): ParameterServiceClient {
  const t = h.rawTarget(name);
  const stub = new (loadProtos().gluonps.v1.ParameterService)(t.address, grpc.credentials.createInsecure(), t.options);
  stubs.push(stub);
  return stub;
}

/** A handle on a name the server does not have (the public API only hands out existing ones). */
function ghost(name: string): Parameter {
  if (shards !== null) return new ClusterParameter(shards, name);
  return new Parameter(new Channel(stubFor(name), h.target as string, new grpc.Metadata(), undefined), name);
}

/** Uploads raw bytes with an arbitrary header through the SetData stream. */
function rawSetData(name: string, header: Record<string, unknown>, bytes: Uint8Array): Promise<ParameterInfo__Output> {
  const stub = stubFor(name);
  return pushTensor<TensorUpload, ParameterInfo__Output>((cb) => stub.setData(cb), { name, header }, bytes);
}

describe('NOT_FOUND: an unknown parameter', () => {
  it('is NOT_FOUND for get() and for every method, naming the parameter', async () => {
    await rejectsWith(ps.get('nope'), Status.NOT_FOUND, /parameter 'nope' does not exist/);
    const g = ghost('ghost');
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['initialize', () => g.initialize()],
      ['data', () => g.data()],
      ['listData', () => g.listData()],
      ['grad', () => g.grad()],
      ['listGrad', () => g.listGrad()],
      ['listCtx', () => g.listCtx()],
      ['resetCtx', () => g.resetCtx([cpu(0)])],
      ['setData', () => g.setData([1, 2])],
      ['rowSparseData', () => g.rowSparseData([0])],
      ['listRowSparseData', () => g.listRowSparseData([0])],
      ['zeroGrad', () => g.zeroGrad()],
      ['cast', () => g.cast('float64')],
      ['var', () => g.var()],
      ['describe', () => g.describe()],
      ['setShape', () => g.setShape([2])],
    ];
    for (const [method, call] of calls) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, method).toBeInstanceOf(GluonPsError);
      expect(err, method).toMatchObject({
        code: Status.NOT_FOUND,
        message: expect.stringMatching(/parameter 'ghost' does not exist/),
      });
    }
  });
});

describe('FAILED_PRECONDITION', () => {
  it('not initialized: every accessor names the parameter', async () => {
    const p = await ps.parameter('fp_uninit', { shape: [2, 2] });
    const re = /parameter 'fp_uninit'.*(has not been initialized|not been initialized)/;
    await rejectsWith(p.data(), Status.FAILED_PRECONDITION, re);
    await rejectsWith(p.listData(), Status.FAILED_PRECONDITION, re);
    await rejectsWith(p.grad(), Status.FAILED_PRECONDITION, re);
    await rejectsWith(p.listGrad(), Status.FAILED_PRECONDITION, re);
    await rejectsWith(p.listCtx(), Status.FAILED_PRECONDITION, re);
    await rejectsWith(p.resetCtx([cpu(0)]), Status.FAILED_PRECONDITION, re);
    await rejectsWith(
      p.setData([
        [1, 2],
        [3, 4],
      ]),
      Status.FAILED_PRECONDITION,
      /parameter 'fp_uninit' has not been initialized: call initialize\(\) before set_data\(\)/,
    );
  });

  it('deferred init pending, wrong storage type, gradient of a constant or of gradReq null', async () => {
    const d = await ps.parameter('fp_deferred', { shape: [0], allowDeferredInit: true });
    await d.initialize();
    await rejectsWith(
      d.data(),
      Status.FAILED_PRECONDITION,
      /parameter 'fp_deferred': initialization was deferred until its shape \[0\] is known/,
    );
    const s = await ps.parameter('fp_sparse', { shape: [3, 1], stype: 'row_sparse', init: init.zero() });
    await s.initialize();
    await rejectsWith(
      s.data(),
      Status.FAILED_PRECONDITION,
      /parameter 'fp_sparse': storage type is row_sparse, expected default/,
    );
    const c = await ps.constant('fp_const', [1]);
    await c.initialize();
    await rejectsWith(
      c.grad(),
      Status.FAILED_PRECONDITION,
      /constant 'fp_const' has no gradient because grad_req='null'/,
    );
    const n = await ps.parameter('fp_null', { shape: [1], gradReq: 'null', init: init.zero() });
    await n.initialize();
    await rejectsWith(
      n.grad(cpu(0)),
      Status.FAILED_PRECONDITION,
      /parameter 'fp_null' has no gradient because grad_req='null'/,
    );
  });
});

describe('INVALID_ARGUMENT', () => {
  it('shape: a value of another shape, a declared rank over 8, a dim below -1', async () => {
    const p = await ps.parameter('ia_shape', { shape: [2, 3], init: init.zero() });
    await p.initialize();
    await rejectsWith(
      p.setData([[1, 2, 3]]),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_shape': shape \[1,3\] does not match \[2,3\]/,
    );
    await rejectsWith(
      ps.parameter('ia_rank', { shape: Array(9).fill(1) }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_rank': rank 9 exceeds the maximum of 8/,
    );
    await rejectsWith(
      ps.parameter('ia_dim', { shape: [2, -2] }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_dim': shape must be .*integers >= -1.*got \[2,-2\]/,
    );
    // A ragged nested value is refused by the client before anything is sent, with the same kind of error.
    await rejectsWith(
      p.setData([
        [1, 2, 3],
        [4, 5],
      ]),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_shape'.*expected an array of 3 at value\[1\]/,
    );
  });

  it('dtype: an unknown dtype name (client side) and an unspecified dtype on the wire (server side)', async () => {
    const p = await ps.parameter('ia_dtype', { shape: [2], init: init.zero() });
    await rejectsWith(
      p.cast('float8' as never),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_dtype': unknown dtype "float8", expected one of float32/,
    );
    await rejectsWith(
      ps.parameter('ia_dtype2', { shape: [2], dtype: 'complex64' as never }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_dtype2': unknown dtype "complex64"/,
    );
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      stubFor('ia_dtype').cast({ name: 'ia_dtype', dtype: 'DTYPE_UNSPECIFIED' }, (e) => resolve(e));
    });
    expect(err).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(
        /parameter 'ia_dtype': unknown dtype "DTYPE_UNSPECIFIED", expected one of DTYPE_FLOAT32/,
      ),
    });
  });

  it('byte length: fewer or more bytes than the header promises, or a header that disagrees with its shape', async (ctx) => {
    singleServerOnly(ctx, 'raw uploads of the whole tensor; on a cluster each shard holds a part of it');
    const p = await ps.parameter('ia_bytes', { shape: [2, 3], init: init.one() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    const header = { shape: [2, 3], dtype: 'DTYPE_FLOAT32', byteLength: 24 };
    await rejectsWith(
      rawSetData('ia_bytes', header, new Uint8Array(20)),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_bytes': expected 24 bytes, received 20/,
    );
    await rejectsWith(
      rawSetData('ia_bytes', header, new Uint8Array(28)),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_bytes': expected 24 bytes, received at least 28/,
    );
    await rejectsWith(
      rawSetData('ia_bytes', { ...header, byteLength: 20 }, new Uint8Array(20)),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_bytes': float32 \[2,3\] needs 24 bytes, got 20/,
    );
    // None of the failed writes touched any copy.
    for (const t of await p.listData()) expect(numbers(t)).toEqual([1, 1, 1, 1, 1, 1]);
    expect((await p.describe()).version).toBe(1);
    // A correct raw upload works.
    const ok = await rawSetData('ia_bytes', header, new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
    expect(ok.version).toBe(2);
  });

  it('the client refuses a Tensor whose data does not match its shape before sending; nothing changes', async () => {
    const p = await ps.parameter('ia_elems', { shape: [2, 3], init: init.one() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    await rejectsWith(
      p.setData({ shape: [2, 3], dtype: 'float32', data: new Float32Array(5) }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_elems'.*shape \[2,3\] needs 6 elements, got 5/,
    );
    for (const t of await p.listData()) expect(numbers(t)).toEqual([1, 1, 1, 1, 1, 1]);
    expect((await p.describe()).version).toBe(1);
  });

  it('a NaN initializer value is refused by a message that says NaN (JSON would write null)', async () => {
    await rejectsWith(
      ps.parameter('nan_init', { shape: [2], init: init.constant(NaN) }),
      Status.INVALID_ARGUMENT,
      /constant initializer needs .*, got NaN$/,
    );
    await rejectsWith(
      ps.parameter('nan_init2', { shape: [2], init: init.constant([1, NaN]) }),
      Status.INVALID_ARGUMENT,
      /got \[1,NaN\]$/,
    );
    await rejectsWith(ps.get('nan_init'), Status.NOT_FOUND, /does not exist/);
    // An optimizer setting of NaN (raw gRPC: the client refuses it).
    const target = h.rawTarget('nan_w'); // 8 bytes: whole on one shard of a cluster
    const raw = new RawTrainerService(target.address, target.options);
    try {
      await (await ps.parameter('nan_w', { shape: [2], init: init.zero() })).initialize();
      await rejectsWith(
        raw.create(trainerRequest('nan_t', ['nan_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: NaN })),
        Status.INVALID_ARGUMENT,
        /optimizer setting learningRate must be a finite number, got NaN$/,
      );
    } finally {
      raw.close();
    }
  });

  it('row ids out of range', async () => {
    const e = await ps.parameter('ia_rows', { shape: [4, 2], stype: 'row_sparse', init: init.zero() });
    await e.initialize();
    await rejectsWith(
      e.rowSparseData([0, 4]),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_rows': row id 4 at position 1 is out of range \[0, 4\)/,
    );
    await rejectsWith(
      e.rowSparseData([1.5]),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_rows': row id at position 0 must be an integer/,
    );
  });

  it('unknown devices: gpu on a CPU-only server, cpu(9) over the default maximum of 8', async () => {
    const p = await ps.parameter('ia_dev', { shape: [2], init: init.zero() });
    const { gpuCount } = nk.buildInfo();
    const missing = gpu(gpuCount); // gpu(0) on a CPU build; one past the last GPU otherwise
    await rejectsWith(
      p.initialize({ ctx: [missing] }),
      Status.INVALID_ARGUMENT,
      new RegExp(`parameter 'ia_dev': context gpu\\(${gpuCount}\\) is not available`),
    );
    await rejectsWith(
      p.initialize({ ctx: [cpu(0), cpu(9)] }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_dev': context cpu\(9\) is not available: cpu ids go up to 7/,
    );
    expect((await p.describe()).initialized).toBe(false);
    await p.initialize({ ctx: [cpu(7)] });
    await rejectsWith(p.resetCtx([missing]), Status.INVALID_ARGUMENT, /parameter 'ia_dev': context gpu/);
    expect(await p.listCtx()).toEqual([cpu(7)]);
  });

  it('bad initializer arguments and xavier on a vector', async () => {
    const p = await ps.parameter('ia_init', { shape: [4] });
    await rejectsWith(
      p.initialize({ init: init.xavier() }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_init': xavier initializer cannot be applied to a vector/,
    );
    await rejectsWith(
      p.initialize({ init: init.uniform({ scale: -1 }) }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_init': initializer scale must be a finite number/,
    );
    await rejectsWith(
      p.initialize({ init: init.xavier({ rndType: 'cauchy' as never }) }),
      Status.INVALID_ARGUMENT,
      /parameter 'ia_init': initializer rndType must be one of uniform, gaussian, got "cauchy"/,
    );
  });
});

describe('ALREADY_EXISTS', () => {
  it('re-declaring with a different spec, constant vs parameter both ways, a constant with another value', async () => {
    await ps.parameter('ae_p', { shape: [2], dtype: 'float32' });
    await rejectsWith(
      ps.parameter('ae_p', { shape: [2], dtype: 'float64' }),
      Status.ALREADY_EXISTS,
      /parameter 'ae_p' already exists with a different spec: dtype "float64" differs from the existing "float32"/,
    );
    await rejectsWith(
      ps.constant('ae_p', [1, 2]),
      Status.ALREADY_EXISTS,
      /constant 'ae_p': the name is already a \(non-constant\) parameter/,
    );
    await ps.constant('ae_c', [1, 2]);
    await rejectsWith(
      ps.parameter('ae_c', { shape: [2] }),
      Status.ALREADY_EXISTS,
      /parameter 'ae_c': the name is already a constant/,
    );
    await rejectsWith(
      ps.constant('ae_c', [1, 3]),
      Status.ALREADY_EXISTS,
      /constant 'ae_c' already exists with a different value/,
    );
  });
});

// Single server only: --max-tensor-bytes bounds each shard's part of a split tensor, not the whole (docs/cluster.md).
describe.skipIf(onCluster)('RESOURCE_EXHAUSTED over max tensor bytes', () => {
  let small: Harness;
  beforeAll(async () => {
    small = await startHarness({ maxTensorBytes: 1 << 20 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('initialize, setData, constant, cast and a completing setShape over the limit', async () => {
    const sps = small.ps;
    const big = await sps.parameter('re_big', { shape: [512, 1024], init: init.zero() });
    await rejectsWith(
      big.initialize(),
      Status.RESOURCE_EXHAUSTED,
      /parameter 're_big': float32 \[512,1024\] needs 2097152 bytes, over the limit of 1048576 bytes/,
    );
    expect((await big.describe()).initialized).toBe(false);

    const p = await sps.parameter('re_p', { shape: [256, 1024], init: init.one() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] }); // exactly 1 MiB: allowed
    await rejectsWith(
      p.setData(new Float32Array(256 * 1024 + 1)),
      Status.RESOURCE_EXHAUSTED,
      /parameter 're_p': byte_length 1048580 exceeds the limit of 1048576 bytes/,
    );
    await rejectsWith(
      p.cast('float64'),
      Status.RESOURCE_EXHAUSTED,
      /parameter 're_p': float64 \[256,1024\] needs 2097152 bytes, over the limit of 1048576 bytes/,
    );
    const d = await p.describe();
    expect(d).toMatchObject({ dtype: 'float32', version: 1 });
    for (const t of await p.listData()) expect(t.data.every((v) => v === 1)).toBe(true);

    await rejectsWith(
      sps.constant('re_c', new Float64Array(200_000)),
      Status.RESOURCE_EXHAUSTED,
      /(constant|parameter) 're_c': byte_length 1600000 exceeds the limit of 1048576 bytes/,
    );
    await rejectsWith(sps.get('re_c'), Status.NOT_FOUND, /parameter 're_c' does not exist/);

    const def = await sps.parameter('re_def', { shape: [0, 1024], allowDeferredInit: true, init: init.zero() });
    await def.initialize();
    await rejectsWith(
      def.setShape([1024, 1024]),
      Status.RESOURCE_EXHAUSTED,
      /parameter 're_def': float32 \[1024,1024\] needs 4194304 bytes/,
    );
    expect(await def.describe()).toMatchObject({ shape: [0, 1024], deferred: true, initialized: false });
    await def.setShape([4, 1024]);
    expect((await def.describe()).initialized).toBe(true);
  });
});

describe('errors carry the numeric code', () => {
  it('is a GluonPsError with code, details and a message without the grpc-js prefix', async () => {
    const err = await ps.get('missing_one').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GluonPsError);
    expect(err).toBeInstanceOf(Error);
    const e = err as GluonPsError;
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    expect(e.code).toBe(5);
    expect(e.message).toBe("parameter 'missing_one' does not exist");
    expect(e.details).toBe(e.message);
  });

  it('a call on a closed client is CANCELLED', async () => {
    const extra = await h.connect();
    const p = await extra.parameter('closed_p', { shape: [1] });
    await extra.close();
    await rejectsWith(p.describe(), Status.CANCELLED, /closed/);
  });

  it('a value for a float32 parameter travels and is checked as the tensor it is', async () => {
    const p = await ps.parameter('typed_p', { shape: [2], init: init.zero() });
    await p.initialize();
    await p.setData(f32([2], [0.5, 0.25]));
    expect(numbers(await p.data())).toEqual([0.5, 0.25]);
  });
});
