// common/optimizer/state-count.ts, which the cluster client uses to check a states snapshot's
// tensor counts, against what the server really allocates: the native kernels' count for the
// kind and settings server/trainer/update.ts derives from each optimizer's configuration.
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { buildOptimizer, OPTIMIZERS } from '../../common/optimizer/optimizer-spec';
import type { OptimizerParams } from '../../common/optimizer/optimizer-spec';
import { optimizerStateTensors } from '../../common/optimizer/state-count';
import { nativeUpdate } from '../../server/trainer/update';

const SETTINGS: Array<Partial<OptimizerParams>> = [
  {},
  { momentum: 0 },
  { momentum: 0.9 },
  { centered: true },
  { centered: false },
];

describe('optimizer state tensors per copy', () => {
  it('are what the native kernels keep, for every optimizer and the settings that change it', () => {
    let checked = 0;
    for (const name of OPTIMIZERS)
      for (const params of SETTINGS) {
        let cfg;
        try {
          cfg = buildOptimizer('t', name, params as Record<string, unknown>);
        } catch {
          continue; // a setting this optimizer does not take
        }
        const { kind, settings } = nativeUpdate(cfg, { lr: 0, lrMult: 1, wdMult: 1, rescale: 1, t: 1 });
        expect(optimizerStateTensors(name, cfg.params), `${name} ${JSON.stringify(params)}`).toBe(
          nk.optimizerStateCount(kind, settings),
        );
        checked++;
      }
    expect(checked).toBeGreaterThanOrEqual(OPTIMIZERS.length + 4);
  });
});
