// rollback-cli.ts: `npm run rollback -- --data-dir DIR --trainer NAME --step K`, run on a stopped
// shard's data dir: the next start recovers the newest checkpoint in which trainer NAME is at
// step K (newer checkpoints are set aside as rolled-back-ckpt-*; server/durability/rollback.ts).
// How a cluster whose shards are at different steps gets back to one step: docs/cluster.md.
// Prints one JSON line on success; a refusal exits with status 2 and a message.
import { parseArgs } from 'node:util';
import { DataDirLockedError } from './durability/lock';
import { rollBackToStep, RollbackError } from './durability/rollback';

const USAGE = 'usage: npm run rollback -- --data-dir DIR --trainer NAME --step K';

function fail(message: string): never {
  process.stderr.write(`gluon-ps rollback: ${message}\n`);
  process.exit(2);
}

function parse(): { 'data-dir'?: string; trainer?: string; step?: string } {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: { 'data-dir': { type: 'string' }, trainer: { type: 'string' }, step: { type: 'string' } },
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = parse();
  const dataDir = values['data-dir'];
  const trainer = values.trainer;
  const stepText = values.step;
  if (dataDir === undefined || trainer === undefined || stepText === undefined)
    fail(`--data-dir, --trainer and --step are all needed\n${USAGE}`);
  const step = Number(stepText);
  if (!/^\d{1,15}$/.test(stepText) || !Number.isSafeInteger(step))
    fail(`--step must be a step count (an integer >= 0), got '${stepText}'`);
  try {
    const r = await rollBackToStep(dataDir, trainer, step);
    process.stdout.write(`${JSON.stringify({ dataDir, trainer, step, ...r })}\n`);
  } catch (err) {
    if (err instanceof RollbackError || err instanceof DataDirLockedError) fail(err.message);
    throw err;
  }
}

await main();
