// bench/cluster-balance.ts (`npm run bench:balance`): how evenly placement (common/cluster/
// placement.ts, layout 1) spreads models over N shards, against the baseline of placing every
// tensor whole by the same hash (MXNet's "a random server per key" without splitting big
// arrays). Pure arithmetic, no server: the figures are exact for the given shapes.
//
// Models: two synthetic 1B-parameter ones (a GPT-like dense transformer, d = 2048, 20 blocks,
// vocabulary 50304; a recommender with a 30M x 32 row_sparse embedding and an MLP), and the
// demo's two models (demo/recipes.ts). Prints a table and, last, one JSON line.
import { balanceBound, modelBytesPerShard } from '../common/cluster/balance';
import { DEFAULT_SLICE_BYTES, LAYOUT_VERSION, type Layout, type PlacementInput } from '../common/cluster/placement';
import { mlpParamShapes } from '../demo/models/mlp';
import { MF_RECIPE, MLP_RECIPE } from '../demo/recipes';

const SHARDS = [2, 3, 4, 8, 16];

const dense = (name: string, shape: number[]): PlacementInput => ({ name, shape, dtype: 'float32', stype: 'default' });

function transformer1B(): PlacementInput[] {
  const d = 2048;
  const out: PlacementInput[] = [dense('wte', [50304, d]), dense('wpe', [2048, d])];
  for (let b = 0; b < 20; b++) {
    const p = `h${b}.`;
    out.push(
      dense(`${p}ln_1.weight`, [d]),
      dense(`${p}ln_1.bias`, [d]),
      dense(`${p}attn.c_attn.weight`, [3 * d, d]),
      dense(`${p}attn.c_attn.bias`, [3 * d]),
      dense(`${p}attn.c_proj.weight`, [d, d]),
      dense(`${p}attn.c_proj.bias`, [d]),
      dense(`${p}ln_2.weight`, [d]),
      dense(`${p}ln_2.bias`, [d]),
      dense(`${p}mlp.c_fc.weight`, [4 * d, d]),
      dense(`${p}mlp.c_fc.bias`, [4 * d]),
      dense(`${p}mlp.c_proj.weight`, [d, 4 * d]),
      dense(`${p}mlp.c_proj.bias`, [d]),
    );
  }
  out.push(dense('ln_f.weight', [d]), dense('ln_f.bias', [d]));
  return out;
}

function recommender1B(): PlacementInput[] {
  const out: PlacementInput[] = [
    { name: 'user_item_embedding', shape: [30_000_000, 32], dtype: 'float32', stype: 'row_sparse' },
    { name: 'category_embedding', shape: [100_000, 32], dtype: 'float32', stype: 'row_sparse' },
  ];
  const widths = [32 * 26, 1024, 512, 256, 1];
  for (let i = 0; i + 1 < widths.length; i++) {
    out.push(dense(`mlp${i}_weight`, [widths[i + 1]!, widths[i]!]), dense(`mlp${i}_bias`, [widths[i + 1]!]));
  }
  return out;
}

function demoMlp(): PlacementInput[] {
  return Object.entries(mlpParamShapes(MLP_RECIPE.shape)).map(([name, shape]) => dense(name, shape));
}

function demoMf(): PlacementInput[] {
  const rows = { mf_user_weight: MF_RECIPE.data.numUsers, mf_item_weight: MF_RECIPE.data.numItems };
  return Object.entries(rows).map(([name, r]) => ({
    name,
    shape: [r, MF_RECIPE.dim],
    dtype: 'float32' as const,
    stype: 'row_sparse' as const,
  }));
}

interface Row {
  model: string;
  params: number;
  shards: number;
  meanMiB: number;
  maxOverMean: number;
  minOverMean: number;
  boundOverMean: number;
  baselineMaxOverMean: number;
}

const MiB = 2 ** 20;

function measure(model: string, tensors: PlacementInput[], shards: number): Row {
  const layout: Layout = { version: LAYOUT_VERSION, shards, sliceBytes: DEFAULT_SLICE_BYTES };
  const perShard = modelBytesPerShard(tensors, layout);
  // Baseline: every tensor whole on its home shard (the same hash, no splitting).
  const baseline = modelBytesPerShard(
    tensors.map((t) => ({ ...t, whole: true })),
    layout,
  );
  const total = perShard.reduce((a, b) => a + b, 0);
  const mean = total / shards;
  const params = tensors.reduce((a, t) => a + t.shape!.reduce((x, y) => x * y, 1), 0);
  return {
    model,
    params,
    shards,
    meanMiB: mean / MiB,
    maxOverMean: Math.max(...perShard) / mean,
    minOverMean: Math.min(...perShard) / mean,
    boundOverMean: balanceBound(tensors, layout) / mean,
    baselineMaxOverMean: Math.max(...baseline) / mean,
  };
}

const models: Array<[string, PlacementInput[]]> = [
  ['transformer-1B', transformer1B()],
  ['recommender-1B', recommender1B()],
  ['demo-mlp', demoMlp()],
  ['demo-mf', demoMf()],
];
const rows = models.flatMap(([name, tensors]) => SHARDS.map((n) => measure(name, tensors, n)));
console.log(`placement balance, layout ${LAYOUT_VERSION}, slice size ${DEFAULT_SLICE_BYTES / MiB} MiB (float32)`);
console.log('model            params      N  mean/shard   max/mean  min/mean  bound/mean  baseline max/mean');
for (const r of rows) {
  console.log(
    `${r.model.padEnd(16)} ${String(r.params).padStart(10)}  ${String(r.shards).padStart(2)}  ` +
      `${r.meanMiB.toFixed(3).padStart(9)} MiB  ${r.maxOverMean.toFixed(4).padStart(7)}  ${r.minOverMean.toFixed(4).padStart(8)}  ` +
      `${r.boundOverMean.toFixed(4).padStart(10)}  ${r.baselineMaxOverMean.toFixed(4).padStart(17)}`,
  );
}
const round = (x: number): number => Math.round(x * 10_000) / 10_000;
console.log(
  JSON.stringify({
    bench: 'cluster-balance',
    layout: LAYOUT_VERSION,
    slice_bytes: DEFAULT_SLICE_BYTES,
    rows: rows.map((r) => ({
      model: r.model,
      params: r.params,
      shards: r.shards,
      max_over_mean: round(r.maxOverMean),
      min_over_mean: round(r.minOverMean),
      bound_over_mean: round(r.boundOverMean),
      baseline_max_over_mean: round(r.baselineMaxOverMean),
    })),
  }),
);
