// rollback-cli.ts: `npm run rollback -- --data-dir DIR --trainer NAME --step K`, run on a stopped
// shard's data dir: the next start recovers the newest checkpoint in which trainer NAME is at
// step K (newer checkpoints are set aside as rolled-back-ckpt-*; server/durability/rollback.ts).
// With every shard's data dir (--data-dir repeated) and no --step: the newest step all of them
// hold, on each of them.
// How a cluster whose shards are at different steps gets back to one step: docs/cluster.md.
// Prints one JSON line on success; a refusal exits with status 2 and a message.
import { parseArgs } from 'node:util';
import { DataDirLockedError } from './durability/lock';
import { rollBackToNewestCommon, rollBackToStep, RollbackError } from './durability/rollback';

const USAGE =
  'usage: npm run rollback -- --data-dir DIR --trainer NAME --step K\n   or: npm run rollback -- --data-dir DIR0 --data-dir DIR1 ... --trainer NAME   (the newest step all of them hold)';

function fail(message: string): never {
  process.stderr.write(`gluon-ps rollback: ${message}\n`);
  process.exit(2);
}

function parse(): { 'data-dir'?: string[]; trainer?: string; step?: string } {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        'data-dir': { type: 'string', multiple: true },
        trainer: { type: 'string' },
        step: { type: 'string' },
      },
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = parse();
  const dataDirs = values['data-dir'] ?? [];
  const trainer = values.trainer;
  const stepText = values.step;
  if (dataDirs.length === 0 || trainer === undefined)
    fail(`--data-dir and --trainer are needed (and --step with one data dir)\n${USAGE}`);
  try {
    if (stepText === undefined) {
      if (dataDirs.length < 2)
        fail(
          `without --step, give every shard's data dir (--data-dir repeated) to find the newest step all of them hold\n${USAGE}`,
        );
      const r = await rollBackToNewestCommon(dataDirs, trainer);
      process.stdout.write(`${JSON.stringify({ trainer, ...r })}\n`);
      return;
    }
    const step = Number(stepText);
    if (!/^\d{1,15}$/.test(stepText) || !Number.isSafeInteger(step))
      fail(`--step must be a step count (an integer >= 0), got '${stepText}'`);
    const results = [];
    for (const dataDir of dataDirs) results.push({ dataDir, ...(await rollBackToStep(dataDir, trainer, step)) });
    process.stdout.write(`${JSON.stringify({ trainer, step, results })}\n`);
  } catch (err) {
    if (err instanceof RollbackError || err instanceof DataDirLockedError) fail(err.message);
    throw err;
  }
}

await main();
