// checks.ts: the limits every tensor and context is checked against before anything is
// allocated: dtype allow-list, rank and element count, exact byte length, the max tensor size,
// and which devices contexts may name.
import * as nk from '../../native/index';
import type { DType, Device } from '../../native/index';
import { exhausted, fmtShape, invalid } from '../errors';
import { deviceKey } from './spec';
import { memoryError } from '../memory';

/** Validates a context list ([] or null = [cpu(0)]): real devices, allowed, present, no repeats. */
export function checkContexts(
  who: string,
  ctx: Device[] | null,
  maxCpuContexts: number,
  deviceRefusal: (d: Device) => string | null,
): Device[] {
  const list = ctx === null || ctx.length === 0 ? [nk.cpu(0)] : ctx;
  const seen = new Set<string>();
  for (const c of list) {
    if ((c.type !== 'cpu' && c.type !== 'gpu') || !Number.isSafeInteger(c.id) || c.id < 0) {
      throw invalid(`${who}: context ${JSON.stringify(c)} is not a device; expected cpu(i) or gpu(i) with i >= 0`);
    }
    if (c.type === 'cpu' && c.id >= maxCpuContexts) {
      throw invalid(
        `${who}: context cpu(${c.id}) is not available: cpu ids go up to ${maxCpuContexts - 1} (raise --max-cpu-contexts)`,
      );
    }
    const refusal = deviceRefusal(c);
    if (refusal !== null) throw invalid(`${who}: context ${deviceKey(c)} is not available: ${refusal}`);
    try {
      nk.checkDevice(c);
    } catch (err) {
      throw invalid(`${who}: context ${(err as Error).message}`);
    }
    const k = deviceKey(c);
    if (seen.has(k)) throw invalid(`${who}: context ${k} is listed twice`);
    seen.add(k);
  }
  return list.map((c) => ({ type: c.type, id: c.id }));
}

/** Shape limits (rank, overflow) and the max tensor size. */
export function checkSize(who: string, dtype: DType, shape: readonly number[], maxTensorBytes: number): void {
  let bytes: number;
  try {
    bytes = nk.shapeSize(shape) * nk.dtypeSize(dtype);
  } catch (err) {
    throw invalid(`${who}: ${(err as Error).message}`);
  }
  if (bytes > maxTensorBytes) {
    throw exhausted(
      `${who}: ${dtype} ${fmtShape([...shape])} needs ${bytes} bytes, over the limit of ${maxTensorBytes} bytes (max tensor bytes)`,
    );
  }
}

/** A tensor's header: known dtype, size limits, and byte length exactly shape x dtype size. */
export function checkTensorHeader(
  who: string,
  dtype: DType,
  shape: readonly number[],
  byteLength: number,
  maxTensorBytes: number,
): void {
  if (!nk.isDType(dtype))
    throw invalid(`${who}: unknown dtype ${JSON.stringify(dtype)}, expected one of ${nk.DTYPES.join(', ')}`);
  checkSize(who, dtype, shape, maxTensorBytes);
  const expected = nk.shapeSize(shape) * nk.dtypeSize(dtype);
  if (byteLength !== expected) {
    throw invalid(`${who}: ${dtype} ${fmtShape([...shape])} needs ${expected} bytes, got ${byteLength}`);
  }
}

/**
 * Maps a kernel failure to a status by its code: memory (the budget, naming --memory-budget, or
 * the allocator) and device problems are the caller's; anything else the store should have refused before calling a
 * kernel, so it stays internal.
 */
export function fromKernel(who: string, err: unknown): never {
  const memory = memoryError(who, err);
  if (memory !== null) throw memory;
  if (err instanceof nk.KernelError && err.code === 'ENODEVICE') throw invalid(`${who}: ${err.message}`);
  throw err;
}
