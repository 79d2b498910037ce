// The status page's renderer (server/observability/page-script.ts) without a browser: the
// server-side render of a made-up document shows its numbers, escapes every text that reaches
// the HTML (a warning carrying markup stays text), draws one chart line per series, and says
// so when there is nothing yet; /status.js is the same script. The browser tier
// (test/browser) runs it live.
import { describe, expect, it } from 'vitest';
import { emptyByKind } from '../../common/status';
import type { ServerStatus, TrainerStatus } from '../../common/status';
import { pageReply, scriptReply, type StatusDocument } from '../../server/observability/page';
import { PAGE_SCRIPT } from '../../server/observability/page-script';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function trainer(name: string, extra: Partial<TrainerStatus> = {}): TrainerStatus {
  return {
    name,
    mode: 'sync',
    optimizer: 'sgd',
    params: 2,
    numWorkers: 4,
    workersSeen: 4,
    workersLeft: [3],
    step: 1234,
    learningRate: 0.1,
    stepTimeoutMs: 30_000,
    timeoutPolicy: 'fail',
    quorum: 0,
    openStep: null,
    recentSteps: 10,
    rateWindowMs: 60_000,
    stepsPerSecond: 12.5,
    lastStepUnixMs: NOW - 100,
    ...extra,
  };
}

function status(extra: Partial<ServerStatus> = {}): ServerStatus {
  return {
    version: '0.1.0',
    timeUnixMs: NOW,
    startedUnixMs: NOW - 90_000,
    uptimeMs: 90_000,
    health: { status: 'SERVING', reason: '' },
    address: '127.0.0.1:50051',
    security: { tls: 'off', auth: false, fullAccessTokens: 0, readOnlyTokens: 0 },
    devices: ['cpu'],
    memory: {
      devices: [
        {
          device: 'cpu(0)',
          allocatedBytes: 3 * 2 ** 20,
          peakBytes: 4 * 2 ** 20,
          byKind: { ...emptyByKind(), parameters: 2 ** 20, gradients: 2 ** 20, optimizerStates: 2 ** 20 },
        },
      ],
      byKind: { ...emptyByKind(), parameters: 2 ** 20, gradients: 2 ** 20, optimizerStates: 2 ** 20 },
      readStagingBytes: 0,
      allocatedBytes: 3 * 2 ** 20,
      budgetBytes: 4 * 2 ** 20,
      heldBytes: 3 * 2 ** 20,
      hostHeapBytes: 0,
    },
    durability: null,
    parameters: { parameters: 2, constants: 1, initialized: 3, deferred: 0, bytes: 2 ** 20 },
    trainers: [
      trainer('alpha', {
        openStep: {
          step: 1234,
          stepped: 2,
          waitingFor: [1],
          waitingCount: 1,
          sinceUnixMs: NOW - 7000,
          waitedMs: 7000,
          applying: false,
        },
      }),
      trainer('beta', { mode: 'async', step: 7 }),
    ],
    warnings: [
      { timeUnixMs: NOW, level: 'warn', message: '<script>alert(1)</script>', fields: { param: '"x" & <y>' } },
    ],
    warningsTotal: 1,
    ...extra,
  };
}

const doc = (s: ServerStatus, points: StatusDocument['history']['points'] = []): StatusDocument => ({
  status: s,
  history: { intervalMs: 2000, points },
});

describe('the status page renderer', () => {
  it('renders the numbers, who an open step waits for, memory against the budget', () => {
    const html = String(pageReply(doc(status())).body);
    expect(html).toMatch(/<tr data-trainer="alpha">.*data-k="step" data-value="1234">1234</);
    expect(html).toContain('waiting for worker 1 for 7.0 s');
    expect(html).toMatch(/data-k="workers" data-value="3">3 \/ 4</);
    expect(html).toMatch(/data-k="allocated" data-value="3145728">3.00 MiB</);
    expect(html).toMatch(
      /data-k="held" data-value="3145728">3.00 MiB<.* data-k="budget" data-value="4194304">4.00 MiB<.* 75%/,
    );
    expect(html).toContain('in memory only');
    expect(html).toContain('updated <span data-k="time">03:04:05Z</span>');
    expect(html).toContain('Collecting: a point every 2 s.');
  });

  it('escapes every text it shows', () => {
    const html = String(pageReply(doc(status())).body);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('param=&quot;x&quot; &amp; &lt;y&gt;');
    // The only script is the page's own file, and the policy allows nothing else.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(pageReply(doc(status())).headers?.['Content-Security-Policy']).toContain("script-src 'self'");
  });

  it('draws a line per series over the history', () => {
    const points = [0, 1, 2].map((i) => ({
      t: NOW - (2 - i) * 2000,
      callsPerSecond: 10 * i,
      pushedBytesPerSecond: 1e6 * i,
      pulledBytesPerSecond: 2e6 * i,
      trainers: {
        alpha: { stepsPerSecond: i, stepMs: 5 + i },
        ...(i > 0 ? { beta: { stepsPerSecond: 1, stepMs: 2 } } : {}),
      },
    }));
    const html = String(pageReply(doc(status(), points)).body);
    const chart = (key: string): string => new RegExp(`<figure data-chart="${key}">.*?</figure>`).exec(html)![0];
    expect(chart('throughput').match(/<polyline/g)).toHaveLength(2);
    expect(chart('latency').match(/<title>(alpha|beta)<\/title>/g)).toEqual([
      '<title>alpha</title>',
      '<title>beta</title>',
    ]);
    expect(chart('latency')).toContain('alpha <b>7.0 ms</b>');
    expect(chart('calls')).toContain('calls <b>20.0</b>');
  });

  it('serves the same script it renders with', () => {
    expect(scriptReply().body).toBe(PAGE_SCRIPT);
    expect(scriptReply().contentType).toBe('text/javascript; charset=utf-8');
  });
});
