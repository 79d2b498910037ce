// symbol.ts: MXNet's var(): the symbol variable a parameter stands for, with the attributes
// MXNet sets (shape as a Python tuple, dtype as its type flag, multipliers as Python floats,
// the initializer's dumps() JSON, the storage type id).
import * as nk from '../../native/index';
import { dumpsInit } from './initializers';
import type { ParameterSpec } from './spec';

export function symbolOf(s: ParameterSpec, isConstant: boolean): { name: string; attrs: Record<string, string> } {
  const attrs: Record<string, string> = {};
  if (s.shape !== null) attrs.__shape__ = s.shape.length === 1 ? `(${s.shape[0]},)` : `(${s.shape.join(', ')})`;
  attrs.__dtype__ = String(nk.dtypeCode(s.dtype));
  attrs.__lr_mult__ = pyFloat(s.lrMult);
  attrs.__wd_mult__ = pyFloat(s.wdMult);
  if (isConstant) attrs.__init__ = JSON.stringify([`constant_${s.name.toLowerCase()}`, {}]);
  else if (s.init) attrs.__init__ = dumpsInit(s.init);
  attrs.__storage_type__ = s.stype === 'default' ? '0' : '1';
  return { name: s.name, attrs };
}

/** Python's str(float): 1 -> '1.0', 0.5 -> '0.5'. */
function pyFloat(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}
