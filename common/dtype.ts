// dtype.ts: the one dtype table. Every element type gluon-ps stores, with its size, the
// gluonps.v1 wire enum name and the MXNet type flag (which is also the native addon's dtype
// code and the `.params` file's flag). The client, the formats, the rpc layer and the native
// contract all read it from here, so a dtype is added in one row.

/** Element types, as MXNet names them. */
export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'int64'] as const;
export type DType = (typeof DTYPES)[number];

export interface DTypeInfo {
  /** Bytes per element. */
  readonly size: number;
  /** The gluonps.v1.DType enum value name on the wire. */
  readonly proto: string;
  /** MXNet's mshadow type flag: the addon's dtype code and the `.params` type flag. */
  readonly mxnetFlag: number;
  /** Floating point (optimizers and random initializers need one). */
  readonly float: boolean;
}

export const DTYPE_INFO: Readonly<Record<DType, DTypeInfo>> = {
  float32: { size: 4, proto: 'DTYPE_FLOAT32', mxnetFlag: 0, float: true },
  float64: { size: 8, proto: 'DTYPE_FLOAT64', mxnetFlag: 1, float: true },
  float16: { size: 2, proto: 'DTYPE_FLOAT16', mxnetFlag: 2, float: true },
  bfloat16: { size: 2, proto: 'DTYPE_BFLOAT16', mxnetFlag: 12, float: true },
  int8: { size: 1, proto: 'DTYPE_INT8', mxnetFlag: 5, float: false },
  uint8: { size: 1, proto: 'DTYPE_UINT8', mxnetFlag: 3, float: false },
  int32: { size: 4, proto: 'DTYPE_INT32', mxnetFlag: 4, float: false },
  int64: { size: 8, proto: 'DTYPE_INT64', mxnetFlag: 6, float: false },
};

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = Object.fromEntries(
  DTYPES.map((d) => [d, DTYPE_INFO[d].size]),
) as Record<DType, number>;

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function dtypeSize(dtype: DType): number {
  return DTYPE_INFO[dtype].size;
}

export function isFloatDType(dtype: DType): boolean {
  return DTYPE_INFO[dtype].float;
}
