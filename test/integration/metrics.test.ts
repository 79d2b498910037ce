// Prometheus metrics (--metrics-port) scraped from a live server: the real CLI process with a
// write-ahead log, driven by real calls (uploads and reads of 3 MiB tensors, failures, a health
// check, trainers that step, retry, wait at the barrier and pass their deadline, a checkpoint).
// The scrape is read with a strict exposition-format parser; the gRPC families must have
// go-grpc-prometheus's names, types, help texts and label sets, with every method of every
// service and every code present, and the counts must be exactly the calls made (as deltas
// between two scrapes, so the client's own set-up calls do not matter).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { loadProtos } from '../../protos/load';
import {
  checkpointNow,
  connectTo,
  healthCheck,
  ROOT,
  startServer,
  tempDir,
  useServerBundle,
  type ServerProcess,
} from './crash-harness';
import { parseExposition, samples, value, type Family } from './prometheus-text';
import { f32t, RawTrainerService, RawWorker, settle, sleep, trainerRequest } from './trainer-helpers';

const bundle = useServerBundle('metrics');

/** go-grpc-prometheus's server metrics: name, type, help, labels (le apart). */
const GO_GRPC_PROMETHEUS = {
  grpc_server_started_total: { type: 'counter', help: 'Total number of RPCs started on the server.', code: false },
  grpc_server_handled_total: {
    type: 'counter',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    code: true,
  },
  grpc_server_msg_received_total: {
    type: 'counter',
    help: 'Total number of RPC stream messages received on the server.',
    code: false,
  },
  grpc_server_msg_sent_total: {
    type: 'counter',
    help: 'Total number of gRPC stream messages sent by the server.',
    code: false,
  },
  grpc_server_handling_seconds: {
    type: 'histogram',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    code: false,
  },
} as const;
const METHOD_LABELS = ['grpc_method', 'grpc_service', 'grpc_type'];
const CODE_NAMES = Object.values(grpc.status).filter((v): v is string => typeof v === 'string');
const MIB = 1 << 20;

/** Every method the server serves: "service/method" -> grpc_type. */
function servedMethods(): Map<string, string> {
  const protos = loadProtos();
  const services = [
    protos.gluonps.v1.ParameterService.service,
    protos.gluonps.v1.TrainerService.service,
    protos.gluonps.v1.AdminService.service,
    protos.grpc.health.v1.Health.service,
  ];
  const out = new Map<string, string>();
  for (const s of services) {
    for (const def of Object.values(s)) {
      const type = def.requestStream
        ? def.responseStream
          ? 'bidi_stream'
          : 'client_stream'
        : def.responseStream
          ? 'server_stream'
          : 'unary';
      out.set(def.path.slice(1), type);
    }
  }
  return out;
}

let srv: ServerProcess;
let metricsUrl: string;
let ps: ParameterServerClient;
const conns: RawTrainerService[] = [];

async function scrape(): Promise<Map<string, Family>> {
  const res = await fetch(`${metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

/** A method's labels for the gRPC families. */
const m = (service: string, method: string): Record<string, string> => ({
  grpc_service: `gluonps.v1.${service}`,
  grpc_method: method,
});

beforeAll(async () => {
  srv = await startServer(bundle, {
    dataDir: tempDir('metrics'),
    durability: 'wal-always',
    // A budget, so the budget gauge the dashboard draws has a sample.
    args: ['--metrics-port', '0', '--memory-budget', '1GiB'],
  });
  metricsUrl = srv.linesWith('listening')[0]!.metrics as string;
  ps = await connectTo(srv.address);
}, 60_000);
afterAll(async () => {
  for (const c of conns) c.close();
  await ps?.close();
  await srv?.stop();
});

describe('Prometheus metrics of a live server', () => {
  it('is off by default, and announced in the "listening" line when on', () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('exports the go-grpc-prometheus families with their names, types, help and label sets', async () => {
    const families = await scrape();
    const methods = servedMethods();
    for (const [name, spec] of Object.entries(GO_GRPC_PROMETHEUS)) {
      const f = families.get(name);
      expect(f, name).toBeDefined();
      expect(f!.type, name).toBe(spec.type);
      expect(f!.help, name).toBe(spec.help);
      const want = spec.code ? [...METHOD_LABELS, 'grpc_code'].sort() : METHOD_LABELS;
      for (const s of f!.samples) {
        const keys = Object.keys(s.labels).sort();
        if (s.name.endsWith('_bucket')) expect(keys, s.name).toEqual([...want, 'le'].sort());
        else expect(keys, s.name).toEqual(want);
        expect(methods.get(`${s.labels.grpc_service}/${s.labels.grpc_method}`), JSON.stringify(s.labels)).toBe(
          s.labels.grpc_type,
        );
      }
      // Every method is there from the start, as go-grpc-prometheus's InitializeMetrics does,
      // and handled_total has every code of every method.
      const seen = new Set(f!.samples.map((s) => `${s.labels.grpc_service}/${s.labels.grpc_method}`));
      expect([...seen].sort(), name).toEqual([...methods.keys()].sort());
      if (spec.code) {
        for (const path of methods.keys()) {
          const [service, method] = path.split('/') as [string, string];
          const codes = f!.samples
            .filter((s) => s.labels.grpc_service === service && s.labels.grpc_method === method)
            .map((s) => s.labels.grpc_code);
          expect(codes.sort(), path).toEqual([...CODE_NAMES].sort());
        }
      }
    }
    // Process metrics from prom-client's default collectors.
    expect(families.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(families.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
  });

  it('counts exactly the calls made: started, handled by code, messages, latency, tensor bytes', async () => {
    const w = await ps.parameter('mx_w', { shape: [(3 * MIB) / 4], init: init.zero() });
    await w.initialize({ ctx: [cpu(0)] });
    const before = await scrape();
    const values = new Float32Array((3 * MIB) / 4).fill(1.5);
    await w.setData(values);
    await w.data();
    await w.data();
    await expect(ps.get('mx_missing')).rejects.toMatchObject({ code: Status.NOT_FOUND });
    expect((await healthCheck(srv.address)).status).toBe('SERVING');
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>): number =>
      value(after, name, labels) - value(before, name, labels);

    // SetData: one client stream of three 1 MiB messages.
    const setData = m('ParameterService', 'SetData');
    expect(delta('grpc_server_started_total', setData)).toBe(1);
    expect(delta('grpc_server_handled_total', { ...setData, grpc_code: 'OK' })).toBe(1);
    expect(delta('grpc_server_msg_received_total', setData)).toBe(3);
    expect(delta('grpc_server_msg_sent_total', setData)).toBe(1);
    expect(delta('gluonps_bytes_pushed_total', setData)).toBe(3 * MIB);
    // Data: two server streams of three messages each.
    const data = m('ParameterService', 'Data');
    expect(delta('grpc_server_started_total', data)).toBe(2);
    expect(delta('grpc_server_handled_total', { ...data, grpc_code: 'OK' })).toBe(2);
    expect(delta('grpc_server_msg_received_total', data)).toBe(2);
    expect(delta('grpc_server_msg_sent_total', data)).toBe(6);
    expect(delta('gluonps_bytes_pulled_total', data)).toBe(6 * MIB);
    expect(delta('grpc_server_handling_seconds_count', data)).toBe(2);
    expect(delta('grpc_server_handling_seconds_bucket', { ...data, le: '+Inf' })).toBe(2);
    // Get: one NOT_FOUND and nothing else.
    const get = m('ParameterService', 'Get');
    expect(delta('grpc_server_handled_total', { ...get, grpc_code: 'NOT_FOUND' })).toBe(1);
    expect(delta('grpc_server_handled_total', { ...get, grpc_code: 'OK' })).toBe(0);
    expect(delta('grpc_server_msg_sent_total', get)).toBe(0);
    // Health, which no wrapper of ours guards, is counted too.
    const check = { grpc_service: 'grpc.health.v1.Health', grpc_method: 'Check' };
    expect(delta('grpc_server_handled_total', { ...check, grpc_code: 'OK' })).toBe(1);

    // The whole scrape is consistent: per method, started = sum of handled = histogram count,
    // and the buckets are cumulative.
    for (const s of samples(after, 'grpc_server_started_total')) {
      const l = { grpc_service: s.labels.grpc_service!, grpc_method: s.labels.grpc_method! };
      const handled = samples(after, 'grpc_server_handled_total', l).reduce((a, x) => a + x.value, 0);
      expect(handled, JSON.stringify(l)).toBe(s.value);
      expect(value(after, 'grpc_server_handling_seconds_count', l), JSON.stringify(l)).toBe(s.value);
      const buckets = samples(after, 'grpc_server_handling_seconds_bucket', l).map((b) => b.value);
      expect(buckets, JSON.stringify(l)).toEqual([...buckets].sort((a, b) => a - b));
      expect(buckets.at(-1)).toBe(s.value);
    }
    // Memory by kind: the 3 MiB parameter (and its gradient) on cpu(0).
    expect(value(after, 'gluonps_memory_bytes', { device: 'cpu(0)', kind: 'parameters' })).toBeGreaterThanOrEqual(
      3 * MIB,
    );
    expect(value(after, 'gluonps_device_memory_bytes', { device: 'cpu(0)' })).toBeGreaterThanOrEqual(3 * MIB);
    expect(value(after, 'gluonps_parameters', { kind: 'parameter' })).toBeGreaterThanOrEqual(1);
  });

  it('reports steps, barrier waits, waiting workers, deadlines, retries, the log and checkpoints', async () => {
    const w = await ps.parameter('mx_t', { shape: [4], init: init.zero() });
    await w.initialize({ ctx: [cpu(0)] });
    const svc = new RawTrainerService(srv.address);
    conns.push(svc);
    const sgd = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 0.1 };
    const g = f32t([4], [1, 2, 3, 4]);

    // Two steps of a one-worker trainer, the second one retried with its key.
    await svc.create(trainerRequest('mx_one', ['mx_t'], sgd));
    const one = new RawWorker(svc, 'mx_one', 0);
    for (let i = 0; i < 2; i++) {
      await one.push('mx_t', g);
      const key = one.key();
      const first = await one.step(1, key);
      expect(await svc.step({ trainer: 'mx_one', key, step: i, batchSize: 1 })).toEqual(first);
    }

    // A three-worker step that waits: the gauge names how many it waits for.
    await svc.create(trainerRequest('mx_wait', ['mx_t'], sgd, { numWorkers: 3, stepTimeoutMs: 60_000 }));
    const waiters = [0, 1, 2].map((id) => new RawWorker(svc, 'mx_wait', id));
    const firstStep = waiters[0]!.step(1);
    let families = await scrape();
    while (value(families, 'gluonps_trainer_waiting_workers', { trainer: 'mx_wait' }) !== 2) {
      await sleep(20);
      families = await scrape();
    }
    expect(value(families, 'gluonps_trainer_workers', { trainer: 'mx_wait' })).toBe(3);
    expect(value(families, 'gluonps_trainer_open_step_seconds', { trainer: 'mx_wait' })).toBeGreaterThan(0);
    await Promise.all([firstStep, waiters[1]!.step(1), waiters[2]!.step(1)]);

    // Deadlines: one applied with the quorum, one failed.
    const short = { numWorkers: 2, stepTimeoutMs: 200 };
    await svc.create(
      trainerRequest('mx_quorum', ['mx_t'], sgd, { ...short, timeoutPolicy: 'TIMEOUT_POLICY_QUORUM', quorum: 1 }),
    );
    await svc.create(trainerRequest('mx_fail', ['mx_t'], sgd, { ...short, timeoutPolicy: 'TIMEOUT_POLICY_FAIL' }));
    const [quorum, failed] = await Promise.all([
      settle(new RawWorker(svc, 'mx_quorum', 0).step(1)),
      settle(new RawWorker(svc, 'mx_fail', 0).step(1)),
    ]);
    expect(quorum.ok).toBe(true);
    expect(failed).toMatchObject({ ok: false, error: { code: Status.DEADLINE_EXCEEDED } });

    await checkpointNow(srv.address, 'metrics test');
    families = await scrape();
    const t = (trainer: string): Record<string, string> => ({ trainer });
    expect(value(families, 'gluonps_trainer_steps_total', t('mx_one'))).toBe(2);
    expect(value(families, 'gluonps_trainer_step_seconds_count', t('mx_one'))).toBe(2);
    expect(value(families, 'gluonps_trainer_barrier_wait_seconds_count', t('mx_one'))).toBe(2);
    expect(value(families, 'gluonps_trainer_replayed_calls_total', t('mx_one'))).toBe(2);
    expect(value(families, 'gluonps_trainer_steps_total', t('mx_wait'))).toBe(1);
    expect(value(families, 'gluonps_trainer_waiting_workers', t('mx_wait'))).toBe(0);
    expect(value(families, 'gluonps_trainer_step_deadlines_total', { trainer: 'mx_quorum', outcome: 'quorum' })).toBe(
      1,
    );
    expect(value(families, 'gluonps_trainer_step_deadlines_total', { trainer: 'mx_fail', outcome: 'timeout' })).toBe(1);
    expect(value(families, 'gluonps_trainer_steps_total', t('mx_fail'))).toBe(0);
    const step = m('TrainerService', 'Step');
    expect(value(families, 'grpc_server_handled_total', { ...step, grpc_code: 'DEADLINE_EXCEEDED' })).toBe(1);
    // wal-always: every record is fsynced, and each fdatasync is timed.
    expect(value(families, 'gluonps_wal_appends_total')).toBeGreaterThan(0);
    expect(value(families, 'gluonps_wal_bytes_total')).toBeGreaterThan(0);
    expect(value(families, 'gluonps_wal_fsync_seconds_count')).toBe(value(families, 'gluonps_wal_fsyncs_total'));
    expect(value(families, 'gluonps_wal_fsyncs_total')).toBeGreaterThan(0);
    expect(value(families, 'gluonps_checkpoint_seconds_count')).toBe(1);
    expect(value(families, 'gluonps_checkpoint_bytes')).toBeGreaterThan(0);
    expect(value(families, 'gluonps_checkpoint_last_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(families.get('gluonps_recovery_seconds')?.type).toBe('gauge');
    expect(
      value(families, 'gluonps_memory_bytes', { device: 'cpu(0)', kind: 'optimizer_states' }),
    ).toBeGreaterThanOrEqual(0);
  });
});

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'histogram_quantile',
  'time',
  'label_values',
]);

/** The metric names a PromQL expression reads (strings, label matchers, ranges and label lists removed). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
}

/** Label names an expression groups by or matches on. */
function labelNames(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) out.push(...m[1]!.split(',').map((l) => l.trim()));
  for (const m of expr.matchAll(/\{([^}]*)\}/g))
    for (const l of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.push(l[1]!);
  return out.filter((l) => l !== '');
}

// After the tests above: their calls, trainers, deadlines, retries and checkpoint give every
// family the dashboard reads at least one sample.
describe('the Grafana dashboard (deploy/grafana/gluon-ps.json)', () => {
  it('queries only metrics and labels this live server exports, rate() only on counters', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/gluon-ps.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ query?: unknown }> };
    };
    const exprs: Array<{ where: string; expr: string }> = [];
    for (const p of dashboard.panels) for (const t of p.targets ?? []) exprs.push({ where: p.title, expr: t.expr });
    for (const v of dashboard.templating.list) {
      const query = (v.query as { query?: string } | undefined)?.query;
      if (query !== undefined)
        exprs.push({ where: 'templating', expr: query.replace(/^label_values\((.*),[^,]*\)$/, '$1') });
    }
    expect(exprs.length).toBeGreaterThan(30);
    const families = await scrape();
    const familyOf = (name: string): Family | undefined => {
      const direct = families.get(name);
      if (direct) return direct;
      const m = /^(.*)_(bucket|sum|count)$/.exec(name);
      const f = m ? families.get(m[1]!) : undefined;
      return f?.type === 'histogram' ? f : undefined;
    };
    const queried = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      const labels = new Set<string>();
      for (const name of names) {
        queried.add(name);
        const f = familyOf(name);
        expect(f, `${where}: ${name} is not exported`).toBeDefined();
        const own = f!.samples.filter((s) => s.name === name);
        expect(own.length, `${where}: ${name} has no sample`).toBeGreaterThan(0);
        for (const s of own) for (const l of Object.keys(s.labels)) labels.add(l);
      }
      // instance and job come from Prometheus's scrape, not from the server.
      for (const l of labelNames(expr))
        if (l !== 'instance' && l !== 'job') expect(labels, `${where}: label ${l} in ${expr}`).toContain(l);
      for (const m of expr.matchAll(/\b(?:rate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
        const f = familyOf(m[1]!)!;
        expect(f.type === 'counter' || f.name !== m[1], `${where}: rate() of ${m[1]}, a ${f.type}`).toBe(true);
      }
    }
    // Every family of ours and every go-grpc-prometheus family is on the dashboard.
    for (const name of families.keys())
      if (name.startsWith('gluonps_') || name.startsWith('grpc_server_'))
        expect(
          [...queried].some((q) => q === name || q.startsWith(`${name}_`)),
          `${name} is not on the dashboard`,
        ).toBe(true);
  });
});
