// Original file: protos/gluonps/v1/parameter.proto

/**
 * Storage of a parameter's data or gradient arrays, Gluon's `stype` / `grad_stype`.
 */
export const StorageType = {
  /**
   * Not set: `default`.
   */
  STORAGE_TYPE_UNSPECIFIED: 'STORAGE_TYPE_UNSPECIFIED',
  /**
   * Dense storage; read with data() / list_data().
   */
  STORAGE_TYPE_DEFAULT: 'STORAGE_TYPE_DEFAULT',
  /**
   * Row-sparse storage; read with row_sparse_data() / list_row_sparse_data().
   */
  STORAGE_TYPE_ROW_SPARSE: 'STORAGE_TYPE_ROW_SPARSE',
} as const;

/**
 * Storage of a parameter's data or gradient arrays, Gluon's `stype` / `grad_stype`.
 */
export type StorageType =
  /**
   * Not set: `default`.
   */
  | 'STORAGE_TYPE_UNSPECIFIED'
  | 0
  /**
   * Dense storage; read with data() / list_data().
   */
  | 'STORAGE_TYPE_DEFAULT'
  | 1
  /**
   * Row-sparse storage; read with row_sparse_data() / list_row_sparse_data().
   */
  | 'STORAGE_TYPE_ROW_SPARSE'
  | 2

/**
 * Storage of a parameter's data or gradient arrays, Gluon's `stype` / `grad_stype`.
 */
export type StorageType__Output = typeof StorageType[keyof typeof StorageType]
