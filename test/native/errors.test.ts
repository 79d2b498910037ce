// The native error contract: every failure of the addon carries a `code` from KERNEL_ERROR_CODES
// (native/src/errors.h), through each way it reaches JS (a synchronous call, a kernel run inline,
// a kernel run on the pool); fromKernel maps codes, not message text, to statuses; and
// native/binding.ts refuses, on load, an addon whose code tables differ from its enums.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addon,
  checkCodeTables,
  codeTableMismatches,
  DeviceTypeCode,
  DTypeCode,
  OptimKindCode,
} from '../../native/binding';
import * as nk from '../../native/index';
import { cpu, gpu } from '../../native/index';
import type { KernelErrorCode } from '../../native/index';
import { Status } from '../../server/errors';
import { fromKernel } from '../../server/store/checks';
import { ROOT, runChild, useBundledModule } from '../fixtures/bundled-module';

/** The error `fn` throws (or its promise rejects with); fails the test when there is none. */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

async function expectCode(fn: () => unknown, code: KernelErrorCode, message: RegExp): Promise<void> {
  const err = await caught(fn);
  expect(err).toBeInstanceOf(nk.KernelError);
  expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
}

/** The raw error from the addon itself (no TypeScript checks in front of it). */
async function expectNativeCode(fn: () => unknown, code: KernelErrorCode, message: RegExp): Promise<void> {
  const err = await caught(fn);
  expect(err).toBeInstanceOf(Error);
  expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
}

describe('native error codes', () => {
  it('the addon exports the code list TypeScript knows', () => {
    expect(addon.errorCodes).toEqual([...nk.KERNEL_ERROR_CODES]);
  });

  it('EDTYPE, ESHAPE and EINVAL from the addon, where TypeScript checks would come first', async () => {
    await expectNativeCode(
      () => addon.empty(DeviceTypeCode.Cpu, 0, 99 as DTypeCode, [2]),
      'EDTYPE',
      /unknown dtype code 99/,
    );
    await expectNativeCode(
      () => addon.empty(DeviceTypeCode.Cpu, 0, DTypeCode.Float32, [1, 1, 1, 1, 1, 1, 1, 1, 1]),
      'ESHAPE',
      /rank 9 exceeds/,
    );
    await expectNativeCode(
      () => addon.empty(DeviceTypeCode.Cpu, 0, DTypeCode.Float32, [-1]),
      'ESHAPE',
      /non-negative integers/,
    );
    await expectNativeCode(
      () => addon.empty(3 as DeviceTypeCode, 0, DTypeCode.Float32, [1]),
      'EINVAL',
      /device type must be 1 \(cpu\) or 2 \(gpu\)/,
    );
    await expectNativeCode(() => addon.run('nope' as 'fill', {} as never), 'EINVAL', /unknown op 'nope'/);
    await expectNativeCode(
      () => addon.run('optimizer', { kind: 7 as OptimKindCode } as never),
      'EINVAL',
      /unknown optimizer kind/,
    );
  });

  it('the checks in TypeScript throw KernelErrors with the same codes', async () => {
    await expectCode(() => nk.empty(cpu(0), 'float32', [1, 1, 1, 1, 1, 1, 1, 1, 1]), 'ESHAPE', /rank 9/);
    await expectCode(() => nk.empty(cpu(0), 'complex64' as nk.DType, [2]), 'EDTYPE', /unknown dtype 'complex64'/);
    await expectCode(() => nk.toIds([1.5]), 'EINVAL', /not an integer/);
  });

  it('ENODEVICE, EBUDGET and EOOM from allocation', async () => {
    const missing = gpu(nk.buildInfo().gpuCount); // "built without CUDA" or "no such GPU"
    await expectCode(() => nk.checkDevice(missing), 'ENODEVICE', /is not available/);
    await expectCode(() => nk.empty(missing, 'float32', [2]), 'ENODEVICE', /is not available/);
    await expectCode(() => nk.empty(cpu(-1), 'float32', [1]), 'ENODEVICE', /not a valid device/);
    const dev = cpu(9);
    nk.setMemoryBudget(dev, 64);
    try {
      await expectCode(() => nk.empty(dev, 'float32', [100]), 'EBUDGET', /would exceed the memory budget/);
    } finally {
      nk.setMemoryBudget(dev, null);
    }
    // 4 PiB: past any machine's address space, so malloc fails whatever the overcommit policy.
    await expectCode(() => nk.empty(cpu(0), 'uint8', [2 ** 52]), 'EOOM', /out of memory allocating/);
  });

  it('ERANGE, EDISPOSED, EDTYPE, ESHAPE and EINVAL from kernels run inline', async () => {
    const t = nk.empty(cpu(0), 'float32', [3, 2]);
    await expectCode(
      () => nk.gatherRows(nk.empty(cpu(0), 'float32', [1, 2]), t, [3]),
      'ERANGE',
      /row id 3 at position 0 is out of range/,
    );
    await expectCode(() => nk.writeAt(t, 20, new Uint8Array(8)), 'ERANGE', /do not fit/);
    await expectCode(
      () => nk.copy(nk.empty(cpu(0), 'float64', [3, 2]), t),
      'EDTYPE',
      /dtype float32 does not match float64/,
    );
    await expectCode(
      () => nk.optimizerUpdate('sgd', {}, nk.empty(cpu(0), 'int32', [2]), nk.empty(cpu(0), 'int32', [2]), []),
      'EDTYPE',
      /floating-point/,
    );
    await expectCode(() => nk.axpy(t, 1, nk.empty(cpu(0), 'float32', [5])), 'ESHAPE', /size 5 \[5\] does not match 6/);
    await expectCode(() => nk.write(t, new Uint8Array(3)), 'ESHAPE', /got 3 bytes, expected 24/);
    await expectCode(() => nk.addN(t, []), 'EINVAL', /at least one source/);
    await expectCode(() => nk.optimizerUpdate('adam', {}, t, t, []), 'EINVAL', /needs 2 state tensors/);
    const gone = nk.empty(cpu(0), 'float32', [2]);
    gone.dispose();
    await expectCode(() => nk.fill(gone, 1), 'EDISPOSED', /disposed Tensor/);
    await expectCode(() => nk.hostView(gone), 'EDISPOSED', /disposed Tensor/);
  });

  it('keeps the code of an error thrown on the libuv pool (a kernel over the inline size)', async () => {
    // 64 KiB of gradient rows: LAMB's work estimate (7x) is past the 256 KiB inline limit, and
    // its lazy refusal is thrown by the kernel itself, inside the AsyncWorker.
    const w = nk.empty(cpu(0), 'float32', [2, 8192]);
    const g = nk.empty(cpu(0), 'float32', [2, 8192]);
    const states = [nk.empty(cpu(0), 'float32', [2, 8192]), nk.empty(cpu(0), 'float32', [2, 8192])];
    await expectCode(
      () => nk.optimizerUpdate('lamb', {}, w, g, states, [0, 1]),
      'EINVAL',
      /lamb has no lazy row-sparse update/,
    );
  });
});

describe('fromKernel', () => {
  const statusOf = (err: nk.KernelError): unknown => {
    try {
      fromKernel("parameter 'p'", err);
    } catch (e) {
      return e instanceof nk.KernelError ? 'rethrown' : (e as { code: number }).code;
    }
    return 'returned';
  };

  it('maps by code, whatever the message says', () => {
    expect(statusOf(new nk.KernelError('EBUDGET', 'x'))).toBe(Status.RESOURCE_EXHAUSTED);
    expect(statusOf(new nk.KernelError('EOOM', 'x'))).toBe(Status.RESOURCE_EXHAUSTED);
    expect(statusOf(new nk.KernelError('ENODEVICE', 'x'))).toBe(Status.INVALID_ARGUMENT);
    // Text that the old regexes matched no longer decides anything.
    expect(statusOf(new nk.KernelError('EINTERNAL', 'cpu(1) is not available; out of memory'))).toBe('rethrown');
    expect(statusOf(new nk.KernelError('ESHAPE', 'exceed the memory budget'))).toBe('rethrown');
  });

  it('keeps the message under the subject', () => {
    expect(() =>
      fromKernel("parameter 'p'", new nk.KernelError('EOOM', 'cpu(0): out of memory allocating 8 bytes')),
    ).toThrow("parameter 'p': cpu(0): out of memory allocating 8 bytes");
  });
});

describe('code tables', () => {
  const real = {
    dtypeCodes: addon.dtypeCodes,
    optimKindCodes: addon.optimKindCodes,
    deviceTypeCodes: addon.deviceTypeCodes,
    errorCodes: addon.errorCodes,
  };

  it('the built addon numbers dtypes, optimizer kinds and devices as the TypeScript enums do', () => {
    expect(codeTableMismatches(real)).toEqual([]);
    expect(addon.dtypeCodes).toMatchObject({
      float32: DTypeCode.Float32,
      float16: DTypeCode.Float16,
      bfloat16: DTypeCode.Bfloat16,
    });
    expect(addon.optimKindCodes).toMatchObject({
      sgd: OptimKindCode.Sgd,
      adamw: OptimKindCode.AdamW,
      lamb: OptimKindCode.Lamb,
    });
    expect(addon.deviceTypeCodes).toEqual({ cpu: DeviceTypeCode.Cpu, gpu: DeviceTypeCode.Gpu });
  });

  it('names every mismatch: a different code, an entry on one side only, a missing table', () => {
    const bad = {
      ...real,
      dtypeCodes: { ...real.dtypeCodes, float16: 3, complex64: 13 },
      optimKindCodes: Object.fromEntries(Object.entries(real.optimKindCodes).filter(([k]) => k !== 'ftrl')),
      errorCodes: [...real.errorCodes, 'EFOO'],
    };
    expect(codeTableMismatches(bad)).toEqual([
      'dtype codes: float16 is 3 in the addon but 2 in TypeScript',
      'dtype codes: complex64 (13 in the addon) is missing from TypeScript',
      'optimizer kind codes: ftrl (5 in TypeScript) is missing from the addon',
      expect.stringMatching(/^error codes: the addon has \[EINVAL, .*, EFOO\], TypeScript \[EINVAL, /),
    ]);
    expect(() => checkCodeTables(bad, '/x/gluonps.node')).toThrow(
      /^gluon-ps native addon at \/x\/gluonps.node does not match native\/binding.ts \(dtype codes: float16 is 3/,
    );
    const { deviceTypeCodes: _dropped, ...old } = real;
    expect(() => checkCodeTables(old, '/x/old.node')).toThrow(
      /device type codes are missing from the addon.*npm run build:native/,
    );
  });

  const scratch = useBundledModule('binding', 'native/binding.ts');

  it('runs when the addon loads: a binary with a different dtype table is refused', async () => {
    // GLUONPS_ADDON may name any loadable module: here the real addon with float16 renumbered.
    const fake = path.join(scratch.base, 'stale-addon.cjs');
    const realPath = path.join(ROOT, 'native', 'build', 'Release', 'gluonps.node');
    writeFileSync(
      fake,
      `const real = require(${JSON.stringify(realPath)});\nmodule.exports = { ...real, dtypeCodes: { ...real.dtypeCodes, float16: 7 } };\n`,
    );
    const code = `
      try { await import(${JSON.stringify(scratch.bundle)}); process.stdout.write('loaded\\n'); }
      catch (err) { process.stdout.write(err.message + '\\n'); process.exit(3); }
    `;
    const refused = await runChild(code, { GLUONPS_ADDON: fake });
    expect(refused.stdout).toContain(
      `gluon-ps native addon at ${fake} does not match native/binding.ts (dtype codes: float16 is 7 in the addon but 2 in TypeScript)`,
    );
    expect(refused.code).toBe(3);
    const accepted = await runChild(code, { GLUONPS_ADDON: realPath });
    expect(accepted.stdout).toBe('loaded\n');
  });
});
