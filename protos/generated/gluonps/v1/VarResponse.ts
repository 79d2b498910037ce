// Original file: protos/gluonps/v1/parameter.proto


/**
 * Reply of Var, the symbol variable Gluon's `var()` would build.
 */
export interface VarResponse {
  /**
   * Symbol name (the parameter name).
   */
  'name'?: (string);
  /**
   * Symbol attributes: __shape__, __dtype__, __lr_mult__, __wd_mult__, __init__, __storage_type__.
   */
  'attrs'?: ({[key: string]: string});
}

/**
 * Reply of Var, the symbol variable Gluon's `var()` would build.
 */
export interface VarResponse__Output {
  /**
   * Symbol name (the parameter name).
   */
  'name': (string);
  /**
   * Symbol attributes: __shape__, __dtype__, __lr_mult__, __wd_mult__, __init__, __storage_type__.
   */
  'attrs': ({[key: string]: string});
}
