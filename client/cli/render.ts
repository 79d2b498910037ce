// render.ts: the text the inspection commands print: the status screen (health, version,
// uptime, a cluster's shards, memory by device and kind, durability, trainers, recent warnings), one trainer in
// full, the parameter table and one parameter in full. Pure functions of what the server
// answered and the current time, so the --watch screen and the tests render the same way.
import { fmtShape } from '../../common/shape';
import type { ParameterDescriptor, ServerStatus, TrainerDescriptor, TrainerStatus } from '../index';
import { bytes, clock, contexts, duration, plural, rate, table, when, workerList } from './format';

const LABEL = 12;

/** `label` then the first line, the rest indented under it. */
function section(label: string, lines: readonly string[]): string[] {
  const pad = ' '.repeat(LABEL);
  return lines.map((l, i) => (i === 0 ? label.padEnd(LABEL) : pad) + l);
}

function security(s: ServerStatus['security']): string {
  const tls = s.tls === 'off' ? 'TLS off' : s.tls === 'mutual' ? 'mutual TLS' : 'TLS';
  if (!s.auth) return `${tls}, no tokens: any caller has full access`;
  return `${tls}, ${plural(s.fullAccessTokens, 'full-access token')} and ${plural(s.readOnlyTokens, 'read-only token')}`;
}

/** `0.4%`, `12%`: a share of the budget. */
function percent(part: number, whole: number): string {
  const p = (part / Math.max(1, whole)) * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

function memory(s: ServerStatus): string[] {
  const m = s.memory;
  const rows: string[][] = [['DEVICE', 'ALLOCATED', 'PEAK', 'PARAMS', 'GRADS', 'STATES', 'STAGED', 'CONSTS', 'OTHER']];
  for (const d of m.devices) {
    const k = d.byKind;
    rows.push([
      d.device,
      bytes(d.allocatedBytes),
      bytes(d.peakBytes),
      bytes(k.parameters),
      bytes(k.gradients),
      bytes(k.optimizerStates),
      bytes(k.stagedGradients),
      bytes(k.constants),
      bytes(k.other),
    ]);
  }
  if (m.devices.length > 1) {
    const k = m.byKind;
    rows.push([
      'total',
      bytes(m.allocatedBytes),
      '',
      bytes(k.parameters),
      bytes(k.gradients),
      bytes(k.optimizerStates),
      bytes(k.stagedGradients),
      bytes(k.constants),
      bytes(k.other),
    ]);
  }
  const budget =
    m.budgetBytes === null
      ? `held for callers: ${bytes(m.heldBytes)}, no memory budget`
      : `held for callers: ${bytes(m.heldBytes)} of the ${bytes(m.budgetBytes)} memory budget (${percent(m.heldBytes, m.budgetBytes)})`;
  return [
    ...table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8])),
    `${budget}; host memory ${bytes(m.hostHeapBytes)}, host copies being sent ${bytes(m.readStagingBytes)}`,
  ];
}

function durability(s: ServerStatus): string[] {
  const d = s.durability;
  if (d === null) return ['none (--data-dir none): the state is in memory only'];
  const out = [`${d.mode} in ${d.dataDir}`];
  const c = d.lastCheckpoint;
  out.push(
    c === null
      ? 'no checkpoint yet'
      : `last checkpoint ${c.id} at ${when(c.timeUnixMs, s.timeUnixMs)}: ${c.reason}, ${bytes(c.bytes)}` +
          `${c.durationMs > 0 ? ` in ${duration(c.durationMs)}` : ''}`,
  );
  out.push(`${plural(d.changesSinceCheckpoint, 'change')} since the last checkpoint`);
  if (d.wal !== null)
    out.push(
      `write-ahead log: ${plural(d.wal.segments, 'segment')}, ${bytes(d.wal.bytes)} on disk; ` +
        `${bytes(d.wal.appendedBytes)} appended since start; last record ${d.wal.lastLsn}`,
    );
  if (d.lastError !== null)
    out.push(`LAST ERROR at ${when(d.lastError.timeUnixMs, s.timeUnixMs)}: ${d.lastError.message}`);
  return out;
}

/** `worker 3`, `workers 1, 2 and 5 more`. */
function whom(o: NonNullable<TrainerStatus['openStep']>, max: number): string {
  return `${o.waitingCount === 1 ? 'worker' : 'workers'} ${workerList(o.waitingFor, o.waitingCount, max)}`;
}

/** What an open step waits for: `worker 3 for 12.3 s`, `applying step 4`, or `-`. */
export function waiting(t: TrainerStatus): string {
  const o = t.openStep;
  if (o === null) return '-';
  if (o.applying) return `applying step ${o.step}`;
  if (o.waitingCount === 0) return '-';
  return `${whom(o, 8)} for ${duration(o.waitedMs)}`;
}

function workers(t: TrainerStatus): string {
  return t.workersLeft.length === 0 ? String(t.numWorkers) : `${t.numWorkers} (${t.workersLeft.length} left)`;
}

export function trainersTable(trainers: readonly TrainerStatus[]): string[] {
  if (trainers.length === 0) return ['none'];
  const rows = [['NAME', 'MODE', 'OPTIMIZER', 'STEP', 'STEPS/S', 'LR', 'WORKERS', 'WAITING FOR']];
  for (const t of trainers)
    rows.push([
      t.name,
      t.mode,
      t.optimizer,
      String(t.step),
      t.stepsPerSecond.toFixed(2),
      rate(t.learningRate),
      workers(t),
      waiting(t),
    ]);
  return table(rows, new Set([3, 4]));
}

function warnings(s: ServerStatus, last: number): string[] {
  if (s.warningsTotal === 0) return ['none'];
  const shown = s.warnings.slice(-last);
  const out = [`${s.warningsTotal} since start; the last ${shown.length}:`];
  for (const w of shown) {
    const fields = Object.entries(w.fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out.push(`${clock(w.timeUnixMs)} ${w.level.padEnd(5)} ${w.message}${fields === '' ? '' : `  ${fields}`}`);
  }
  return out;
}

/** A cluster's shards (ServerStatus.shards): one line each, what each holds and serves. */
function shardsTable(s: ServerStatus): string[] {
  const rows = [['SHARD', 'ADDRESS', 'HEALTH', 'UPTIME', 'PARAMS', 'VALUES', 'HELD', 'DURABILITY']];
  for (const x of s.shards ?? []) {
    const st = x.status;
    const d = st.durability;
    const c = d?.lastCheckpoint ?? null;
    rows.push([
      String(x.index),
      x.address,
      st.health.status === 'SERVING' ? 'SERVING' : `NOT_SERVING (${st.health.reason})`,
      duration(st.uptimeMs),
      String(st.parameters.parameters + st.parameters.constants),
      bytes(st.parameters.bytes),
      bytes(st.memory.heldBytes),
      d === null ? 'none' : `${d.mode}${c === null ? ', no checkpoint' : `, checkpoint ${c.id}`}`,
    ]);
  }
  return table(rows, new Set([4, 5, 6]));
}

/** The status screen. `warningLines`: how many of the recent warnings to show. */
export function renderStatus(s: ServerStatus, warningLines = 5): string {
  const health = s.health.status === 'SERVING' ? 'SERVING' : `NOT_SERVING (${s.health.reason})`;
  const p = s.parameters;
  const lines = [
    `gluon-ps ${s.version} at ${s.address}: ${health}`,
    ...section('uptime', [`${duration(s.uptimeMs)} (since ${clock(s.startedUnixMs)})`]),
    ...section('security', [security(s.security)]),
    ...section('devices', [s.devices.join(', ')]),
    ...section('parameters', [
      `${plural(p.parameters, 'parameter')}, ${plural(p.constants, 'constant')} ` +
        `(${p.initialized} initialized, ${p.deferred} deferred), ${bytes(p.bytes)} of values`,
    ]),
    // A cluster's status (ps.status() of connect([...])) is its shards' merged, each one's here.
    ...(s.shards === undefined ? [] : ['', ...section('shards', shardsTable(s))]),
    '',
    ...section('memory', memory(s)),
    '',
    ...section('durability', durability(s)),
    '',
    ...section('trainers', trainersTable(s.trainers)),
    '',
    ...section('warnings', warnings(s, warningLines)),
  ];
  return `${lines.join('\n')}\n`;
}

/** One shard's copy of a trainer in a cluster (renderTrainer): null where the shard holds none of its parameters. */
export interface ShardTrainer {
  index: number;
  address: string;
  trainer: TrainerStatus | null;
}

/**
 * One trainer in full: its status, and (when known) its parameters and optimizer settings; on a
 * cluster, each shard's copy of it (its step and open step) on a line.
 */
export function renderTrainer(
  t: TrainerStatus,
  spec: TrainerDescriptor | null,
  now: number,
  shards?: readonly ShardTrainer[],
): string {
  const o = t.openStep;
  const open =
    o === null
      ? t.mode === 'async'
        ? 'none (async: each worker steps alone)'
        : 'none'
      : o.applying
        ? `step ${o.step}: being applied`
        : `step ${o.step}: ${o.stepped} of ${t.numWorkers - t.workersLeft.length} workers stepped; ` +
          `waiting for ${whom(o, 32)} for ${duration(o.waitedMs)} (since ${clock(o.sinceUnixMs)})`;
  const deadline =
    t.mode === 'async'
      ? '-'
      : `${duration(t.stepTimeoutMs)} per step, then ${t.timeoutPolicy === 'quorum' ? `apply with a quorum of ${t.quorum}` : 'fail the step'}`;
  const lines = [
    `trainer '${t.name}': ${t.mode}, ${t.optimizer}, step ${t.step}`,
    ...section('parameters', [spec === null ? String(t.params) : `${t.params}: ${spec.params.join(', ')}`]),
    ...section('lr', [rate(t.learningRate)]),
    ...section('workers', [
      `${t.numWorkers}, ${t.workersSeen} seen` +
        (t.workersLeft.length === 0 ? '' : `, left: ${workerList(t.workersLeft, t.workersLeft.length)}`),
    ]),
    ...section('deadline', [deadline]),
    ...section('open step', [open]),
    ...section('rate', [
      `${t.stepsPerSecond.toFixed(2)} steps/s (${plural(t.recentSteps, 'step')} in the last ${duration(t.rateWindowMs)}); ` +
        (t.lastStepUnixMs === null
          ? 'no step since the server started'
          : `last step at ${when(t.lastStepUnixMs, now)}`),
    ]),
  ];
  if (spec !== null) {
    const params = Object.entries(spec.optimizer.params)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    lines.push(...section('optimizer', [`${spec.optimizer.name}${params === '' ? '' : ` ${params}`}`]));
  }
  if (shards !== undefined)
    lines.push(
      ...section(
        'shards',
        shards.map((x) => {
          const where = `${x.index} ${x.address}: `;
          const c = x.trainer;
          if (c === null) return `${where}none of its parameters`;
          const o = c.openStep;
          const open =
            o === null
              ? 'none'
              : o.applying
                ? `${o.step}, being applied`
                : o.waitingCount === 0
                  ? String(o.step)
                  : `${o.step}, waiting for ${waiting(c)}`;
          return `${where}step ${c.step}, open step ${open}`;
        }),
      ),
    );
  return `${lines.join('\n')}\n`;
}

function state(p: ParameterDescriptor): string {
  return p.initialized ? 'initialized' : p.deferred ? 'deferred' : 'not initialized';
}

export function renderList(params: readonly ParameterDescriptor[]): string {
  if (params.length === 0) return 'no parameters or constants\n';
  const rows = [['NAME', 'KIND', 'SHAPE', 'DTYPE', 'STYPE', 'CONTEXTS', 'VERSION', 'STATE']];
  for (const p of params)
    rows.push([
      p.name,
      p.isConstant ? 'constant' : 'parameter',
      fmtShape(p.shape),
      p.dtype,
      p.stype,
      contexts(p.ctx),
      String(p.version),
      state(p),
    ]);
  return `${table(rows, new Set([6])).join('\n')}\n`;
}

export function renderDescribe(p: ParameterDescriptor): string {
  const init = p.init === null ? '-' : JSON.stringify(p.init);
  const rows: Array<[string, string]> = [
    ['kind', p.isConstant ? 'constant' : 'parameter'],
    ['shape', fmtShape(p.shape)],
    ['dtype', p.dtype],
    ['stype', p.stype],
    ['grad stype', p.gradStype],
    ['grad req', p.gradReq],
    ['contexts', contexts(p.ctx)],
    ['version', String(p.version)],
    ['state', state(p)],
    ['lr mult', String(p.lrMult)],
    ['wd mult', String(p.wdMult)],
    ['differentiable', String(p.differentiable)],
    ['deferred init', p.allowDeferredInit ? 'allowed' : 'not allowed'],
    ['init', init],
  ];
  return `${[`${p.isConstant ? 'constant' : 'parameter'} '${p.name}'`, ...rows.map(([k, v]) => `${k.padEnd(16)}${v}`)].join('\n')}\n`;
}
