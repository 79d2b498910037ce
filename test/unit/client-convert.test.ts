// Unit tests of the client's pure translation layer: init.* builders, parameter specs,
// contexts, row ids and seeds to gluonps.v1 messages (client/convert.ts, client/init.ts),
// descriptions back from them, and the error normalization of client/errors.ts. No network.
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  checkSeed,
  contextsToProto,
  contextToProto,
  describeFromProto,
  initFromProto,
  initToProto,
  rowIdsToProto,
  specToProto,
} from '../../client/convert';
import { GluonPsError, show, toGluonPsError } from '../../client/errors';
import { cpu, gpu, init } from '../../client/index';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import { codeOf } from '../fixtures/thrown';

describe('init builders', () => {
  it('build plain objects with MXNet names, leaving defaults to the server', () => {
    expect(init.uniform()).toEqual({ kind: 'uniform' });
    expect(init.uniform({ scale: 0.5 })).toEqual({ kind: 'uniform', scale: 0.5 });
    expect(init.normal({ sigma: 2 })).toEqual({ kind: 'normal', sigma: 2 });
    expect(init.xavier({ rndType: 'gaussian', factorType: 'in', magnitude: 2 })).toEqual({
      kind: 'xavier',
      rndType: 'gaussian',
      factorType: 'in',
      magnitude: 2,
    });
    expect(Object.keys(init.xavier({ magnitude: 2 }))).toEqual(['kind', 'magnitude']);
    expect(init.msraPrelu({ slope: 0.1 })).toEqual({ kind: 'msraprelu', slope: 0.1 });
    expect(init.constant(3)).toEqual({ kind: 'constant', value: 3 });
    expect(
      init.constant([
        [1, 2],
        [3, 4],
      ]),
    ).toEqual({ kind: 'constant', value: [1, 2, 3, 4] });
    expect(init.constant(Float32Array.from([0.5, 2]))).toEqual({ kind: 'constant', value: [0.5, 2] });
    expect(init.zero()).toEqual({ kind: 'zero' });
    expect(init.one()).toEqual({ kind: 'one' });
    expect(init.orthogonal({ scale: 1, randType: 'normal' })).toEqual({
      kind: 'orthogonal',
      scale: 1,
      randType: 'normal',
    });
  });

  it('map onto the proto Initializer (array constants use values)', () => {
    expect(initToProto('p', init.xavier({ factorType: 'out' }))).toEqual({
      kind: 'INITIALIZER_KIND_XAVIER',
      factorType: 'out',
    });
    expect(initToProto('p', init.constant(2))).toEqual({ kind: 'INITIALIZER_KIND_CONSTANT', value: 2 });
    expect(initToProto('p', init.constant([1, 2]))).toEqual({ kind: 'INITIALIZER_KIND_CONSTANT', values: [1, 2] });
    expect(initToProto('p', 'zeros')).toEqual({ kind: 'INITIALIZER_KIND_ZERO' });
    expect(initToProto('p', 'msraprelu')).toEqual({ kind: 'INITIALIZER_KIND_MSRAPRELU' });
    expect(codeOf(() => initToProto('p', 'glorot' as never)).message).toMatch(/unknown initializer "glorot"/);
    expect(codeOf(() => initToProto('p', { kind: 'uniform', scale: 'big' } as never)).message).toMatch(
      /init.scale must be a finite number/,
    );
    expect(codeOf(() => initToProto('p', { kind: 'uniform', sigma: 1, foo: 2 } as never)).message).toMatch(
      /unknown initializer field 'foo'/,
    );
  });

  it('come back from the proto unchanged', () => {
    const wire = {
      kind: 'INITIALIZER_KIND_XAVIER' as const,
      rndType: 'gaussian',
      factorType: '',
      randType: '',
      values: [],
      magnitude: 2,
    };
    expect(initFromProto(wire)).toEqual({ kind: 'xavier', rndType: 'gaussian', magnitude: 2 });
    expect(
      initFromProto({ kind: 'INITIALIZER_KIND_CONSTANT', rndType: '', factorType: '', randType: '', values: [1, 2] }),
    ).toEqual({ kind: 'constant', value: [1, 2] });
    expect(initFromProto(null)).toBeNull();
  });
});

describe('parameter specs', () => {
  it('map every field to the proto enums, leaving omitted ones unset', () => {
    expect(
      specToProto('w', {
        shape: [4, 0],
        dtype: 'bfloat16',
        gradReq: 'add',
        init: init.one(),
        allowDeferredInit: true,
        differentiable: false,
        stype: 'row_sparse',
        gradStype: 'row_sparse',
        lrMult: 2,
        wdMult: 0,
      }),
    ).toEqual({
      name: 'w',
      shape: [4, 0],
      dtype: 'DTYPE_BFLOAT16',
      gradReq: 'GRAD_REQ_ADD',
      init: { kind: 'INITIALIZER_KIND_ONE' },
      allowDeferredInit: true,
      differentiable: false,
      stype: 'STORAGE_TYPE_ROW_SPARSE',
      gradStype: 'STORAGE_TYPE_ROW_SPARSE',
      lrMult: 2,
      wdMult: 0,
    });
    expect(specToProto('w', {})).toEqual({ name: 'w', shapeUnknown: true });
    expect(specToProto('w', { shape: 5, gradReq: null })).toEqual({ name: 'w', shape: [5], gradReq: 'GRAD_REQ_NULL' });
    expect(specToProto('w', { shape: [-1, 3], gradReq: 'null' }).shape).toEqual([-1, 3]);
  });

  it('refuse obviously wrong input with INVALID_ARGUMENT before sending', () => {
    const bad: Array<[object, RegExp]> = [
      [{ grad_req: 'null' }, /unknown option 'grad_req'/],
      [{ shape: [2, 1.5] }, /shape must be an array of integers >= -1/],
      [{ shape: [-2] }, /integers >= -1/],
      [{ dtype: 'float8' }, /unknown dtype "float8"/],
      [{ gradReq: 'sometimes' }, /gradReq must be one of write, add, null/],
      [{ stype: 'csr' }, /stype must be one of default, row_sparse/],
      [{ lrMult: Number.NaN }, /lrMult must be a finite number/],
      [{ allowDeferredInit: 'yes' }, /allowDeferredInit must be a boolean/],
    ];
    for (const [spec, pattern] of bad) {
      const { code, message } = codeOf(() => specToProto('w', spec as never));
      expect(code).toBe(status.INVALID_ARGUMENT);
      expect(message).toMatch(/^parameter 'w': /);
      expect(message).toMatch(pattern);
    }
  });
});

describe('contexts, row ids and seeds', () => {
  it('map cpu/gpu contexts and refuse malformed ones', () => {
    expect(cpu()).toEqual({ deviceType: 'cpu', deviceId: 0 });
    expect(gpu(2)).toEqual({ deviceType: 'gpu', deviceId: 2 });
    expect(contextToProto('p', cpu(3))).toEqual({ deviceType: 'DEVICE_TYPE_CPU', deviceId: 3 });
    expect(contextsToProto('p', gpu(1))).toEqual([{ deviceType: 'DEVICE_TYPE_GPU', deviceId: 1 }]);
    expect(contextsToProto('p', [cpu(0), cpu(1)])).toHaveLength(2);
    expect(contextsToProto('p', undefined)).toEqual([]);
    expect(codeOf(() => contextToProto('p', { deviceType: 'tpu', deviceId: 0 })).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => contextToProto('p', cpu(-1))).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => contextToProto('p', cpu(0.5))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('accept row ids as numbers or bigints, refusing non-integers', () => {
    expect(rowIdsToProto('p', [5, 1, 5])).toEqual([5, 1, 5]);
    expect(rowIdsToProto('p', BigInt64Array.from([3n, 0n]))).toEqual([3, 0]);
    expect(rowIdsToProto('p', Int32Array.from([-1]))).toEqual([-1]); // ranges are the server's to judge
    expect(codeOf(() => rowIdsToProto('p', [1.5])).message).toMatch(/row id at position 0 must be an integer/);
    expect(codeOf(() => rowIdsToProto('p', [2n ** 60n])).message).toMatch(/below 2\^53, got 1152921504606846976/);
  });

  it('accept seeds that are exact JS integers only', () => {
    expect(checkSeed('p', 7)).toBe(7);
    expect(checkSeed('p', 2 ** 53 - 1)).toBe(2 ** 53 - 1);
    for (const bad of [2 ** 53, 1.5, -1, 7n, '7'])
      expect(codeOf(() => checkSeed('p', bad)).code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('descriptions', () => {
  it('translate a ParameterInfo, applying the wire defaults to absent fields', () => {
    const info: ParameterInfo__Output = {
      spec: {
        name: 'w',
        shape: [4, 0],
        shapeUnknown: false,
        dtype: 'DTYPE_FLOAT16',
        gradReq: 'GRAD_REQ_UNSPECIFIED',
        init: null,
        allowDeferredInit: true,
        stype: 'STORAGE_TYPE_ROW_SPARSE',
        gradStype: 'STORAGE_TYPE_UNSPECIFIED',
        part: null,
      },
      initialized: false,
      deferred: true,
      ctx: [{ deviceType: 'DEVICE_TYPE_GPU', deviceId: 1 }],
      version: 9,
      isConstant: false,
      order: 0,
    };
    expect(describeFromProto(info)).toEqual({
      name: 'w',
      shape: [4, 0],
      dtype: 'float16',
      gradReq: 'write',
      stype: 'row_sparse',
      gradStype: 'default',
      initialized: false,
      deferred: true,
      ctx: [gpu(1)],
      version: 9,
      isConstant: false,
      lrMult: 1,
      wdMult: 1,
      differentiable: true,
      allowDeferredInit: true,
      init: null,
    });
    expect(describeFromProto({ ...info, spec: { ...info.spec!, shapeUnknown: true } }).shape).toBeNull();
  });
});

describe('errors', () => {
  it('keep the gRPC code and use the server text as the message', () => {
    const metadata = new Metadata();
    const grpcError = Object.assign(new Error("3 INVALID_ARGUMENT: parameter 'w': shape [4,3] does not match [4,5]"), {
      code: status.INVALID_ARGUMENT,
      details: "parameter 'w': shape [4,3] does not match [4,5]",
      metadata,
    });
    const e = toGluonPsError(grpcError);
    expect(e).toBeInstanceOf(GluonPsError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(3);
    expect(e.message).toBe("parameter 'w': shape [4,3] does not match [4,5]");
    expect(e.details).toBe(e.message);
    expect(e.metadata).toBe(metadata);
    expect(e.cause).toBe(grpcError);
  });

  it('strip the grpc-js prefix when there are no details, and wrap anything else as UNKNOWN', () => {
    expect(toGluonPsError({ code: 5, message: '5 NOT_FOUND: nope', details: '' }).message).toBe('nope');
    const other = toGluonPsError(new TypeError('boom'));
    expect(other.code).toBe(status.UNKNOWN);
    expect(other.message).toBe('boom');
    const same = new GluonPsError(status.ABORTED, 'x');
    expect(toGluonPsError(same)).toBe(same);
  });

  it("carry the server's typed reason from the gluonps-reason trailer, and only a known one", () => {
    const metadata = new Metadata();
    metadata.set('gluonps-reason', 'stale-step');
    metadata.set('gluonps-step', '0');
    const stale = toGluonPsError({ code: status.FAILED_PRECONDITION, details: 'any text', metadata });
    expect(stale.reason).toBe('stale-step');
    // A wrapper that keeps the metadata (retry.ts, cluster/shards.ts) keeps the reason.
    expect(new GluonPsError(stale.code, `shard 1: ${stale.message}`, { metadata: stale.metadata }).reason).toBe(
      'stale-step',
    );
    const newer = new Metadata();
    newer.set('gluonps-reason', 'some-later-reason');
    expect(toGluonPsError({ code: status.FAILED_PRECONDITION, details: 'x', metadata: newer }).reason).toBeUndefined();
    expect(toGluonPsError({ code: status.FAILED_PRECONDITION, details: 'step 0 is closed' }).reason).toBeUndefined();
    // A StatusError of shared code the client runs keeps its reason too.
    expect(
      toGluonPsError({ code: status.FAILED_PRECONDITION, details: 'x', info: { reason: 'stale-step' } }).reason,
    ).toBe('stale-step');
  });

  it('format user values without throwing', () => {
    expect(show(3n)).toBe('3n');
    expect(show([1n, 2])).toBe('["1n",2]');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(show(cyclic)).toBe('[object Object]');
  });
});
