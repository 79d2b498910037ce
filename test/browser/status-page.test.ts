// The live status page in a real browser: Debian's chromium, headless, driven by playwright-core.
// A server (the real CLI process, with a write-ahead log and a checkpoint every 100 steps) runs
// the training demo's two workers; the page must show the trainers, then update by itself while
// they train (a screenshot of it goes to test-artifacts/), and, once training is over and the
// page has polled again, every number it shows (steps, workers, who a step waits for, memory by
// device and kind, parameter counts, the checkpoint) must equal /status.json and /metrics. No
// script error and no blocked resource (the page's Content-Security-Policy) is allowed. With
// tokens, a browser gets in with one as the HTTP Basic password.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerStatus } from '../../common/status';
import { ROOT, startServer, tempDir, useServerBundle, type ServerProcess } from '../integration/crash-harness';
import { parseExposition, value, type Family } from '../integration/prometheus-text';

const CHROMIUM = process.env.GLUONPS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const execFileP = promisify(execFile);

const bundle = useServerBundle('browser');
let demoBundle = '';
let browser: Browser;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no chromium at ${CHROMIUM}: run the tier with npm run test:browser (it installs Debian's chromium)`,
    );
  mkdirSync(ARTIFACTS, { recursive: true });
  const name = `demo-browser-${process.pid}`;
  await execFileP(process.execPath, ['scripts/bundle.mjs', 'demo/run.ts', name], { cwd: ROOT, timeout: 60_000 });
  demoBundle = path.join(ROOT, '.build', `${name}.mjs`);
  // As root (CI containers) chromium's sandbox cannot start.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...args, '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await browser?.close();
  if (demoBundle) rmSync(demoBundle, { force: true });
});

interface PageProblems {
  errors: string[];
}

/** A page that records script errors, failed requests and console errors (CSP violations are those). */
async function openPage(
  url: string,
  credentials?: { username: string; password: string },
): Promise<{
  page: Page;
  problems: PageProblems;
}> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, httpCredentials: credentials });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [] };
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(`console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  const res = await page.goto(url);
  expect(res?.status()).toBe(200);
  return { page, problems };
}

/** One demo worker process (`npm run demo -- worker`), resolving with its exit code. */
function demoWorker(address: string, id: number, epochs: number): Promise<number | null> {
  const child = spawn(
    process.execPath,
    [
      demoBundle,
      'worker',
      '--server',
      address,
      '--workers',
      '2',
      '--worker-id',
      String(id),
      '--epochs',
      String(epochs),
      '--json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      if (code !== 0) console.error(`demo worker ${id} exited ${code}: ${stderr.slice(-2000)}`);
      resolve(code);
    }),
  );
}

interface ShownTrainer {
  name: string;
  step: string;
  workers: number;
  waiting: number;
}

const shownTrainers = (page: Page): Promise<ShownTrainer[]> =>
  page.$$eval('#trainers tr[data-trainer]', (rows) =>
    rows.map((r) => ({
      name: r.getAttribute('data-trainer')!,
      step: r.querySelector('[data-k="step"]')!.textContent!,
      workers: Number(r.querySelector('[data-k="workers"]')!.getAttribute('data-value')),
      waiting: Number(r.querySelector('[data-k="waiting"]')!.getAttribute('data-value')),
    })),
  );

/** Each device row's cells by data-k: the exact value and the text shown. */
const shownMemory = (page: Page): Promise<Record<string, Record<string, { value: string; text: string }>>> =>
  page.$$eval('#memory tr[data-device]', (rows) => {
    const out: Record<string, Record<string, { value: string; text: string }>> = {};
    for (const r of rows) {
      const cells: Record<string, { value: string; text: string }> = {};
      for (const c of r.querySelectorAll('[data-k]'))
        cells[c.getAttribute('data-k')!] = { value: c.getAttribute('data-value')!, text: c.textContent! };
      out[r.getAttribute('data-device')!] = cells;
    }
    return out;
  });

const attr = (page: Page, selector: string): Promise<string | null> =>
  page.$eval(selector, (e) => e.getAttribute('data-value'));

const updatedAt = (page: Page): Promise<number> =>
  page.evaluate(() => Number(document.body.getAttribute('data-updated')));

async function scrape(url: string): Promise<Map<string, Family>> {
  return parseExposition(await (await fetch(`${url}/metrics`)).text());
}

const KIND_LABEL: Record<string, string> = {
  parameters: 'parameters',
  gradients: 'gradients',
  optimizerStates: 'optimizer_states',
  stagedGradients: 'staged_gradients',
  constants: 'constants',
  other: 'other',
};

describe('the status page in headless chromium', () => {
  let srv: ServerProcess;
  afterAll(async () => {
    await srv?.stop();
  });

  it('shows a training run live, updates, and matches /status.json and /metrics', async () => {
    srv = await startServer(bundle, {
      dataDir: tempDir('browser'),
      durability: 'wal-batch',
      args: ['--metrics-port', '0', '--checkpoint-every-steps', '100'],
    });
    const url = srv.linesWith('listening')[0]!.metrics as string;
    const workers = [demoWorker(srv.address, 0, 4), demoWorker(srv.address, 1, 4)];
    const { page, problems } = await openPage(`${url}/`);

    // Live: both trainers appear, then the page updates by itself (no reload) as they step.
    await page.waitForFunction(() => document.querySelectorAll('#trainers tr[data-trainer]').length === 2, null, {
      timeout: 60_000,
    });
    const before = await shownTrainers(page);
    const beforeAt = await updatedAt(page);
    const total = (ts: ShownTrainer[]): number => ts.reduce((a, t) => a + Number(t.step), 0);
    await page.waitForFunction(
      ([at, steps]) =>
        Number(document.body.getAttribute('data-updated')) > at &&
        [...document.querySelectorAll('#trainers [data-k="step"]')].reduce((a, c) => a + Number(c.textContent), 0) >
          steps,
      [beforeAt, total(before)] as const,
      { timeout: 60_000 },
    );
    // The charts fill in from the server's history.
    await page.waitForSelector('figure[data-chart="throughput"] polyline', { timeout: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page-training.png'), fullPage: true });

    expect(await Promise.all(workers)).toEqual([0, 0]);
    const finished = Date.now();
    // Once it has polled after training ended, every number must agree with the sources.
    await page.waitForFunction((t) => Number(document.body.getAttribute('data-updated')) > t, finished, {
      timeout: 30_000,
    });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });
    const doc = (await (await fetch(`${url}/status.json`)).json()) as { status: ServerStatus };
    const families = await scrape(url);
    const status = doc.status;

    const trainers = await shownTrainers(page);
    expect(trainers.map((t) => t.name)).toEqual(['mf', 'mlp']);
    expect(status.trainers.map((t) => t.name)).toEqual(['mf', 'mlp']);
    for (const t of trainers) {
      const json = status.trainers.find((x) => x.name === t.name)!;
      expect(json.step).toBeGreaterThan(0);
      expect(t.step, t.name).toBe(String(json.step));
      expect(value(families, 'gluonps_trainer_steps_total', { trainer: t.name }), t.name).toBe(json.step);
      expect(t.workers, t.name).toBe(json.numWorkers - json.workersLeft.length);
      expect(value(families, 'gluonps_trainer_workers', { trainer: t.name }), t.name).toBe(t.workers);
      const waiting = json.openStep === null || json.openStep.applying ? 0 : json.openStep.waitingCount;
      expect(t.waiting, t.name).toBe(waiting);
      expect(value(families, 'gluonps_trainer_waiting_workers', { trainer: t.name }), t.name).toBe(waiting);
    }

    const memory = await shownMemory(page);
    expect(Object.keys(memory).sort()).toEqual(status.memory.devices.map((d) => d.device).sort());
    for (const d of status.memory.devices) {
      const row = memory[d.device]!;
      expect(Number(row.allocated!.value), d.device).toBe(d.allocatedBytes);
      expect(value(families, 'gluonps_device_memory_bytes', { device: d.device })).toBe(d.allocatedBytes);
      expect(row.allocated!.text).toMatch(/^\d+(\.\d+)? (B|KiB|MiB|GiB)$/);
      for (const [kind, label] of Object.entries(KIND_LABEL)) {
        const bytes = d.byKind[kind as keyof typeof d.byKind];
        expect(Number(row[kind]!.value), `${d.device} ${kind}`).toBe(bytes);
        expect(value(families, 'gluonps_memory_bytes', { device: d.device, kind: label }), `${d.device} ${kind}`).toBe(
          bytes,
        );
      }
    }
    expect(status.memory.byKind.parameters).toBeGreaterThan(0);
    expect(status.memory.byKind.optimizerStates).toBeGreaterThan(0);
    expect(Number(await attr(page, '#memory [data-k="parameters"]'))).toBe(status.parameters.parameters);
    expect(value(families, 'gluonps_parameters', { kind: 'parameter' })).toBe(status.parameters.parameters);

    // Durability: the log's mode and the newest checkpoint (one every 100 steps).
    const ckpt = status.durability!.lastCheckpoint!;
    expect(await page.$eval('#durability [data-k="mode"]', (e) => e.textContent)).toBe('wal-batch');
    expect(Number(await attr(page, '#durability [data-k="checkpoint"]'))).toBe(ckpt.id);
    expect(Math.round(value(families, 'gluonps_checkpoint_last_timestamp_seconds') * 1000)).toBe(ckpt.timeUnixMs);
    expect(Number(await attr(page, '#durability [data-k="walBytes"]'))).toBe(status.durability!.wal!.bytes);
    expect(Number(await attr(page, '#warnings [data-k="warningsTotal"]'))).toBe(status.warningsTotal);

    // The charts: throughput (pushed and pulled) and a step-latency line per trainer.
    expect(await page.$$eval('figure[data-chart="throughput"] polyline', (l) => l.length)).toBe(2);
    expect(
      await page.$$eval('figure[data-chart="latency"] polyline title', (l) => l.map((t) => t.textContent)),
    ).toEqual(['mf', 'mlp']);

    // Without JavaScript the server-rendered page already shows the same trainers.
    const html = await (await fetch(`${url}/`)).text();
    for (const t of status.trainers) expect(html).toContain(`data-trainer="${t.name}"`);

    expect(problems.errors).toEqual([]);
    for (const f of ['status-page-training.png', 'status-page.png'])
      expect(statSync(path.join(ARTIFACTS, f)).size).toBeGreaterThan(10_000);
    await page.context().close();
  });

  it('with tokens, a browser gets in with one as the Basic password, and not without', async () => {
    const tokened = await startServer(bundle, {
      dataDir: 'none',
      args: ['--metrics-port', '0', '--read-only-token', 'page-ro-token'],
    });
    try {
      const url = tokened.linesWith('listening')[0]!.metrics as string;
      const context = await browser.newContext();
      expect((await context.request.get(`${url}/`)).status()).toBe(401);
      expect((await context.request.get(`${url}/status.json`)).status()).toBe(401);
      await context.close();
      const { page, problems } = await openPage(`${url}/`, { username: 'ops', password: 'page-ro-token' });
      const at = await updatedAt(page);
      // Its own polls of /status.json carry the credentials too.
      await page.waitForFunction((t) => Number(document.body.getAttribute('data-updated')) > t, at, {
        timeout: 30_000,
      });
      expect(await page.$eval('#head [data-k="health"]', (e) => e.textContent)).toBe('SERVING');
      expect(problems.errors).toEqual([]);
      await page.context().close();
    } finally {
      await tokened.stop();
    }
  });
});
