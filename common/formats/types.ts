// types.ts: what every tensor-file format module takes and returns. A NamedTensor is raw
// little-endian, C-order bytes plus a name, dtype and shape; the format modules move bytes
// and never interpret values. FormatError is the one error a reader or writer raises on
// purpose: it names the file, the format, the record or tensor, what was expected and what
// was found. The dtypes are the shared table's (common/dtype.ts).
import type { DType } from '../dtype';

export { DTYPE_SIZE, isDType } from '../dtype';
export { fmtShape } from '../shape';
export type { DType };

export type StorageType = 'default' | 'row_sparse';

/** The device an MXNet `.params` record says the array lived on (MXNet `Context`). */
export interface TensorContext {
  devType: 'cpu' | 'gpu' | 'cpu_pinned' | 'cpu_shared';
  devId: number;
}

export interface NamedTensor {
  name: string;
  dtype: DType;
  /** The logical (full) shape; [] is a scalar; zero-size dimensions are allowed. */
  shape: number[];
  /**
   * Raw little-endian, C-order element bytes. Dense: prod(shape) elements. row_sparse:
   * indices.length rows of prod(shape[1:]) elements each, in the order of `indices`.
   */
  data: Uint8Array;
  stype: StorageType;
  /** row_sparse only: the stored row ids, strictly increasing, each in [0, shape[0]). */
  indices?: BigInt64Array;
  /** `.params` only: the context recorded in the file (read), or to record (write). */
  context?: TensorContext;
}

export type TensorFormat = 'params' | 'safetensors' | 'npy' | 'npz';

export const FORMAT_LABEL: Readonly<Record<TensorFormat | 'unknown', string>> = {
  unknown: 'tensor file',
  params: 'MXNet .params',
  safetensors: 'safetensors',
  npy: '.npy',
  npz: '.npz',
};

/**
 * Machine-readable reason. The safetensors ones are the reference implementation's error
 * names (huggingface/safetensors `SafeTensorError`), so its test vectors map one to one.
 */
export type FormatErrorCode =
  | 'Truncated' // the input ends before a declared field or payload
  | 'Invalid' // a field has a value the format does not allow
  | 'LimitExceeded' // a count, size, rank or length is over the configured limits
  | 'UnsupportedDType' // a dtype the format knows but gluon-ps does not store
  | 'Unsupported' // a feature of the format gluon-ps does not handle (csr, encryption…)
  | 'Checksum' // a CRC does not match
  | 'Duplicate' // two tensors with one name
  | 'TrailingData' // bytes after the end of the content
  | 'WriteIncomplete' // a streaming writer was closed before every byte was written
  | 'HeaderTooSmall'
  | 'HeaderTooLarge'
  | 'InvalidHeaderLength'
  | 'InvalidHeader'
  | 'InvalidHeaderStart'
  | 'InvalidHeaderDeserialization'
  | 'InvalidOffset'
  | 'TensorInvalidInfo'
  | 'MetadataIncompleteBuffer'
  | 'ValidationOverflow';

export class FormatError extends Error {
  override name = 'FormatError';
  /**
   * @param format which format was being read or written
   * @param source the file path, or a label such as `<buffer>` for in-memory data
   * @param detail the record or tensor, what was expected and what was found
   */
  constructor(
    readonly format: TensorFormat | 'unknown',
    readonly source: string,
    readonly code: FormatErrorCode,
    readonly detail: string,
  ) {
    super(`${source}: ${FORMAT_LABEL[format]}: ${detail}`);
  }
}

/** Throws a FormatError for `format`/`source`; the helper every module builds its `fail` from. */
export type Fail = (code: FormatErrorCode, detail: string) => never;

export function failer(format: TensorFormat | 'unknown', source: string): Fail {
  return (code, detail) => {
    throw new FormatError(format, source, code, detail);
  };
}

/** A name quoted for messages, shortened so a hostile 1 MB name does not flood a log. */
export function q(name: string): string {
  const s = name.length > 120 ? `${name.slice(0, 117)}...` : name;
  return JSON.stringify(s);
}
