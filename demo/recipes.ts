// The demo's two training recipes: data, model sizes, optimizer and batch sizes. Shared by the
// workers (which train through the server) and the unit test that checks the same recipe
// converges in-process, so a change here that breaks convergence fails `npm test`.
import type { BlobsOptions, RatingsOptions } from './data';
import type { MlpShape } from './models/mlp';

export const MLP_RECIPE = {
  data: { n: 4096, dim: 16, classes: 4, blobsPerClass: 2, spread: 1.2, seed: 20240501 } satisfies BlobsOptions,
  shape: { inputs: 16, hidden: 32, classes: 4 } satisfies MlpShape,
  /** Samples per synchronous step over all workers; each worker takes its share. */
  globalBatch: 128,
  /** Trainer: sync SGD with momentum (MXNet names, camelCase). */
  optimizer: 'sgd' as const,
  optimizerParams: { learningRate: 0.1, momentum: 0.9 },
  /** Seed of the server-side Xavier initialization of the weights. */
  initSeed: 7,
};

export const MF_RECIPE = {
  data: { numUsers: 400, numItems: 300, rank: 4, n: 24000, noise: 0.1, seed: 20240502 } satisfies RatingsOptions,
  /** Embedding width (larger than the true rank). */
  dim: 8,
  globalBatch: 256,
  /** Trainer: sync lazy Adam over the row_sparse embeddings. */
  optimizer: 'adam' as const,
  optimizerParams: { learningRate: 0.02 },
  /** Embeddings start as N(0, sigma^2). */
  initSigma: 0.1,
  initSeed: 11,
};

export const DEFAULT_EPOCHS = 5;

/**
 * A worker's batch: an equal share of the global batch, so the number of steps per epoch and
 * the update per step stay about the same whatever the number of workers (a sync step sums the
 * workers' gradients and divides by the sum of their batch sizes).
 */
export function workerBatch(globalBatch: number, workers: number): number {
  return Math.max(1, Math.floor(globalBatch / workers));
}
