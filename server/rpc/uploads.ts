// uploads.ts: uploads (set_data, push_grad) that land straight in a staged host tensor. Each
// received chunk is copied into the tensor natively, with no ArrayBuffer over the whole tensor:
// V8 counts every new ArrayBuffer's length as external memory and answers a 64 MiB jump with
// a full mark-compact, which cost ~9 ms of GC per 64 MiB upload (a fifth of the server's CPU
// per set_data) when uploads were assembled through a view. An upload into a plain buffer
// counts that buffer against the memory budget (server/memory.ts) until the caller releases it.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import type { HostTensor } from '../store/parameter-store';
import type { TensorHeader__Output } from '../../protos/generated/gluonps/v1/TensorHeader';
import { receiveTensor, type ByteDestination, type UploadCall } from '../../common/wire/chunks';
import { streamError, subject } from '../errors';
import { holdBytes } from '../memory';

/** What `accept` found an upload's header to be, and where its bytes are to land. */
export interface AcceptedUpload {
  dtype: HostTensor['dtype'];
  shape: number[];
  /** A host tensor for the bytes (then owned by the upload), or null for a Buffer. */
  staged: DeviceTensor | null;
}

export interface ReceivedUpload<F> {
  /** The upload's first message (its name, trainer, key... fields). */
  first: F;
  header: TensorHeader__Output;
  value: HostTensor;
  /** The tensor the bytes landed in, now the caller's to hand on or dispose; or null. */
  staged: DeviceTensor | null;
  /** Stops counting the upload's buffer against the memory budget: call once done with `value`. */
  release: () => void;
}

/**
 * Receives one uploaded tensor (set_data, declare_constant, push_grad) whose first message names
 * the parameter in `nameField` (errors name it too). `accept` sees the first message and the
 * header before any byte is buffered: it checks them (throw to refuse the upload) and says
 * where the bytes land. A staged tensor is disposed if the upload fails. A plain buffer is
 * counted against the memory budget from before it is allocated (over it: RESOURCE_EXHAUSTED,
 * nothing buffered) until the caller calls `release` (or the upload fails).
 */
export async function receiveUpload<F extends object>(
  call: UploadCall,
  limits: { maxBytes: number; nameField: keyof F & string },
  accept: (first: F, header: TensorHeader__Output) => AcceptedUpload,
): Promise<ReceivedUpload<F>> {
  let first: F | null = null;
  let accepted: AcceptedUpload | null = null;
  let release = (): void => undefined;
  try {
    const { header, data } = await receiveTensor<TensorHeader__Output, Buffer | ByteDestination>(call, {
      maxBytes: limits.maxBytes,
      makeError: streamError,
      nameField: limits.nameField,
      onFirst: (m) => {
        first = m as F;
      },
      validateHeader: (header) => {
        accepted = accept(first!, header);
      },
      allocate: (n) => {
        if (accepted!.staged !== null) return tensorDestination(accepted!.staged);
        release = holdBytes(`${who(first)}: receiving the upload`, n);
        return Buffer.allocUnsafeSlow(n);
      },
    });
    const { dtype, shape, staged } = accepted!;
    return {
      first: first!,
      header,
      value: staged === null ? { dtype, shape, bytes: data as Buffer } : landedValue(dtype, shape, staged),
      staged,
      release,
    };
  } catch (err) {
    (accepted as AcceptedUpload | null)?.staged?.dispose();
    release();
    throw err;
  }

  function who(m: F | null): string {
    const name = (m as Record<string, unknown> | null)?.[limits.nameField];
    return typeof name === 'string' ? subject(name) : 'upload';
  }
}

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
