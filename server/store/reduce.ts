// reduce.ts: the mean of a parameter's copies (MXNet's _reduce, used by reset_ctx).
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';

/**
 * Writes the mean of `copies` into `out`. Floats accumulate in float64 (no float16 overflow on
 * the way; MXNet sums in the dtype). Integers are averaged exactly on the host with truncating
 * division, as MXNet's integer add_n / N does.
 */
export async function meanInto(
  out: DeviceTensor,
  copies: readonly DeviceTensor[],
  track: (t: DeviceTensor) => DeviceTensor,
): Promise<void> {
  const n = copies.length;
  if (nk.isFloatDType(out.dtype)) {
    const sum = track(nk.empty(out.device, 'float64', out.shape));
    const here = track(nk.empty(out.device, out.dtype, out.shape));
    const wide = track(nk.empty(out.device, 'float64', out.shape));
    for (const t of copies) {
      await nk.copy(here, t);
      await nk.cast(wide, here);
      await nk.axpy(sum, 1, wide);
    }
    await nk.scale(sum, 1 / n);
    await nk.cast(out, sum);
    return;
  }
  const views = await Promise.all(copies.map((t) => nk.readBytes(t)));
  const result = new Uint8Array(out.byteLength);
  if (out.dtype === 'int64') {
    const dst = new BigInt64Array(result.buffer);
    const srcs = views.map((v) => new BigInt64Array(v.buffer, v.byteOffset, out.size));
    for (let i = 0; i < out.size; i++) {
      let acc = 0n;
      for (const src of srcs) acc += src[i]!;
      dst[i] = acc / BigInt(n);
    }
  } else {
    const Ctor = out.dtype === 'int32' ? Int32Array : out.dtype === 'int8' ? Int8Array : Uint8Array;
    const dst = new Ctor(result.buffer);
    const srcs = views.map((v) => new Ctor(v.buffer as ArrayBuffer, v.byteOffset, out.size));
    for (let i = 0; i < out.size; i++) {
      let acc = 0;
      for (const src of srcs) acc += src[i]!;
      dst[i] = Math.trunc(acc / n);
    }
  }
  await nk.write(out, result);
}
