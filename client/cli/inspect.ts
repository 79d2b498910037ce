// inspect.ts: the commands that look without changing anything: status (once, or --watch),
// list, describe NAME, trainers, trainer NAME. Text for people (render.ts) or, with --json, one
// JSON document on stdout: `{ "command": ..., ... }` with what the client API returned.
import { GluonPsError, Status } from '../index';
import type { ParameterServerClient, ServerStatus } from '../index';
import type { Command } from './args';
import { clock, table } from './format';
import type { Output } from './format';
import { renderDescribe, renderList, renderStatus, renderTrainer } from './render';

function json(out: Output, doc: Record<string, unknown>): void {
  out.stdout.write(`${JSON.stringify(doc)}\n`);
}

export async function runStatus(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const s = await ps.status();
  if (cmd.json) json(out, { command: 'status', ...s });
  else out.stdout.write(renderStatus(s));
}

export async function runList(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const params = await ps.list();
  if (cmd.json) json(out, { command: 'list', parameters: params });
  else out.stdout.write(renderList(params));
}

export async function runDescribe(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const p = await (await ps.get(cmd.name)).describe();
  if (cmd.json) json(out, { command: 'describe', parameter: p });
  else out.stdout.write(renderDescribe(p));
}

export async function runTrainers(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const trainers = await ps.listTrainers();
  if (cmd.json) json(out, { command: 'trainers', trainers });
  else if (trainers.length === 0) out.stdout.write('no trainers\n');
  else
    out.stdout.write(
      `${table([['NAME', 'DESCRIPTION'], ...trainers.map((t) => [t.name, t.description])]).join('\n')}\n`,
    );
}

export async function runTrainer(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  // The status first: it says NOT_FOUND for a trainer that does not exist.
  const s = await ps.status({ trainer: cmd.name });
  const t = s.trainers[0];
  if (t === undefined) throw new GluonPsError(Status.NOT_FOUND, `trainer '${cmd.name}' does not exist`);
  const spec = await ps.describeTrainer(cmd.name);
  // On a cluster: each shard's copy of the trainer (none where it holds none of its parameters).
  const shards = s.shards?.map((x) => ({
    index: x.index,
    address: x.address,
    trainer: x.status.trainers.find((y) => y.name === cmd.name) ?? null,
  }));
  if (cmd.json)
    json(out, {
      command: 'trainer',
      trainer: t,
      params: spec.params,
      optimizer: spec.optimizer,
      ...(shards === undefined ? {} : { shards }),
    });
  else out.stdout.write(renderTrainer(t, spec, s.timeUnixMs, shards));
}

// --- status --watch ------------------------------------------------------------------------------

/** Failures a refresh outlives (the server restarting, a slow answer); any other stops the watch. */
const TRANSIENT: ReadonlySet<number> = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Each line cut to the terminal's width, so a frame never wraps and scrolls the screen. */
function fit(text: string, columns: number): string {
  return text
    .split('\n')
    .map((l) => (l.length > columns ? `${l.slice(0, Math.max(0, columns - 1))}…` : l))
    .join('\n');
}

/**
 * status --watch until `stop` aborts (SIGINT): on a terminal each snapshot replaces the last in
 * place (cursor home, lines cleared as they are rewritten); otherwise, and always with --json,
 * snapshots follow one another (JSON: one line each). A refresh that fails for a transient reason
 * is reported and tried again at the next interval; the first snapshot, or any other failure,
 * ends the watch with the error.
 */
export async function watchStatus(
  ps: ParameterServerClient,
  cmd: Command,
  out: Output,
  stop: AbortSignal,
): Promise<void> {
  const tty = out.stdout.isTTY === true && !cmd.json;
  if (tty) out.stdout.write('\x1b[?25l\x1b[2J'); // hide the cursor, clear the screen
  let last: ServerStatus | null = null;
  try {
    for (let n = 0; !stop.aborted; n++) {
      let snapshot: ServerStatus | null = null;
      let problem = '';
      try {
        snapshot = await ps.status();
      } catch (err) {
        if (n === 0 || !(err instanceof GluonPsError) || !TRANSIENT.has(err.code)) throw err;
        problem = `${clock(Date.now())} no answer from ${ps.address} (${Status[err.code]}), retrying every ${cmd.intervalMs} ms: ${err.message}`;
      }
      if (stop.aborted) break;
      last = snapshot ?? last;
      if (cmd.json) {
        if (snapshot !== null) json(out, { command: 'status', ...snapshot });
        else out.stderr.write(`gluonps status: ${problem}\n`);
      } else if (tty) {
        const footer = `\nrefreshing every ${cmd.intervalMs} ms; Ctrl-C to stop${problem === '' ? '' : `\n${problem}`}`;
        // A failed refresh keeps the last snapshot on screen, with the problem below it.
        const body = last === null ? '' : renderStatus(last);
        const frame = fit(`${body}${footer}`, Math.max(20, out.stdout.columns || 80));
        out.stdout.write(`\x1b[H${frame.split('\n').join('\x1b[K\n')}\x1b[K\x1b[J`);
      } else if (snapshot !== null) {
        out.stdout.write(`${n === 0 ? '' : '\n'}${renderStatus(snapshot)}`);
      } else {
        out.stderr.write(`gluonps status: ${problem}\n`);
      }
      await sleep(cmd.intervalMs, stop);
    }
  } finally {
    if (tty) out.stdout.write('\x1b[?25h\n'); // the cursor back, below the last frame
  }
}
