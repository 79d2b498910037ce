// uploads.ts: uploads (set_data, push_grad) that land straight in a staged host tensor. Each
// received chunk is copied into the tensor natively, with no ArrayBuffer over the whole tensor:
// V8 counts every new ArrayBuffer's length as external memory and answers a 64 MiB jump with
// a full mark-compact, which cost ~9 ms of GC per 64 MiB upload (a fifth of the server's CPU
// per set_data) when uploads were assembled through a view.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import type { HostTensor } from '../store/parameter-store';
import type { ByteDestination } from './chunks';

/** A TensorAssembler destination that copies each chunk into host tensor `t`. */
export function tensorDestination(t: DeviceTensor): ByteDestination {
  return { byteLength: t.byteLength, set: (chunk, offset) => nk.writeAt(t, offset, chunk) };
}

/**
 * The HostTensor of an upload that landed in `t`: its bytes are t's cached view, made only if
 * something reads them (a write-ahead log, a conversion when the staged tensor no longer fits).
 */
export function landedValue(dtype: HostTensor['dtype'], shape: number[], t: DeviceTensor): HostTensor {
  let bytes: Uint8Array | null = null;
  return {
    dtype,
    shape,
    get bytes(): Uint8Array {
      bytes ??= nk.hostView(t);
      return bytes;
    },
  };
}
