// state-count.ts: how many state tensors, each shaped like the weight, an optimizer keeps per
// parameter copy: what the native kernels allocate (native/index.ts optimizerStateCount, asked
// with the kind and settings server/trainer/update.ts derives). The cluster client needs it to
// check a states snapshot's tensor counts before sending any shard its share
// (client/cluster/states.ts); test/native/state-count.test.ts holds the two to the same answers.
import type { OptimizerName, OptimizerParams } from './optimizer-spec';

/** State tensors per parameter copy for `name` with `params` (nag is sgd with Nesterov momentum). */
export function optimizerStateTensors(name: OptimizerName, params: OptimizerParams): number {
  switch (name) {
    case 'sgd':
    case 'nag':
      return (params.momentum ?? 0) !== 0 ? 1 : 0;
    case 'adagrad':
      return 1;
    case 'rmsprop':
      return params.centered === true ? 3 : 1;
    default:
      return 2;
  }
}
