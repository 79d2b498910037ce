// The metrics port's own rules, on in-process servers: each server has its own registry (two in
// one process count only their own calls); with tokens every request needs one (any token, a
// read-only one included; Bearer, or the Basic password a browser sends); a metrics host other
// than loopback without a token is refused at start-up; with TLS the port is HTTPS with the
// server's certificate; unknown paths and methods are answered, not crashed on.
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import { parseCommandLine } from '../../server/config';
import { startServer } from '../../server/index';
import type { RunningServer, ServerOptions } from '../../server/index';
import { hasOpenssl, selfSigned } from '../fixtures/certs';
import { parseExposition, value } from './prometheus-text';

const running: RunningServer[] = [];
afterAll(async () => {
  for (const s of running) await s.close(1000);
});

async function start(options: ServerOptions = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, metricsPort: 0, logLevel: 'silent', ...options });
  running.push(s);
  return s;
}

/** Get calls answered NOT_FOUND, in a scrape. */
const notFoundGets = (scrape: string): number =>
  value(parseExposition(scrape), 'grpc_server_handled_total', { grpc_method: 'Get', grpc_code: 'NOT_FOUND' });

describe('the metrics port', () => {
  it('is off unless --metrics-port is set', async () => {
    const s = await startServer({ port: 0, logLevel: 'silent' });
    running.push(s);
    expect(s.metricsUrl).toBeNull();
    expect(s.metrics).toBeNull();
    expect(parseCommandLine(['--metrics-port', '9464']).options).toMatchObject({ metricsPort: 9464 });
    expect(() => parseCommandLine(['--metrics-host', '0.0.0.0'])).toThrow(/--metrics-host needs --metrics-port/);
    expect(() => parseCommandLine(['--metrics-port', 'x'])).toThrow(/--metrics-port: expected an integer/);
  });

  it('gives each server its own registry', async () => {
    const a = await start();
    const b = await start();
    const ps = await connect(a.address);
    try {
      await expect(ps.get('nothing_here')).rejects.toMatchObject({ code: Status.NOT_FOUND });
    } finally {
      await ps.close();
    }
    const scrape = async (s: RunningServer): Promise<string> => (await fetch(`${s.metricsUrl}/metrics`)).text();
    expect(notFoundGets(await scrape(a))).toBe(1);
    expect(notFoundGets(await scrape(b))).toBe(0);
  });

  it('with tokens, takes any of them as Bearer or Basic password, and refuses the rest', async () => {
    const s = await start({ auth: { tokens: ['full-tok'], readOnlyTokens: ['ro-tok'] } });
    const url = `${s.metricsUrl}/metrics`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Basic realm="gluon-ps"/);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer ro-tok' } })).status).toBe(200);
    expect((await fetch(url, { headers: { authorization: 'Bearer full-tok' } })).status).toBe(200);
    const basic = `Basic ${Buffer.from('anyone:ro-tok').toString('base64')}`;
    const ok = await fetch(url, { headers: { authorization: basic } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP /m);
    const badBasic = `Basic ${Buffer.from('anyone:nope').toString('base64')}`;
    expect((await fetch(url, { headers: { authorization: badBasic } })).status).toBe(401);
  });

  it('refuses a non-loopback metrics host without a token (unless --insecure)', async () => {
    await expect(startServer({ port: 0, metricsPort: 0, metricsHost: '0.0.0.0', logLevel: 'silent' })).rejects.toThrow(
      /--metrics-host 0\.0\.0\.0 is not a loopback address and no caller would be authenticated/,
    );
  });

  it('answers unknown paths 404 and other methods 405', async () => {
    const s = await start();
    expect((await fetch(`${s.metricsUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${s.metricsUrl}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    // The server still serves.
    const ps = await connect(s.address);
    try {
      const w = await ps.parameter('ep_w', { shape: [2], init: init.one() });
      await w.initialize();
    } finally {
      await ps.close();
    }
    expect((await fetch(`${s.metricsUrl}/metrics`)).status).toBe(200);
  });
});

describe.skipIf(!hasOpenssl)('the metrics port under TLS', () => {
  it('is HTTPS with the server certificate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-metrics-tls-'));
    try {
      const pair = selfSigned(dir, 'server', 'localhost');
      const s = await start({ tls: { cert: pair.cert, key: pair.key } });
      expect(s.metricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(`${s.metricsUrl}/metrics`, { ca: pair.cert, servername: 'localhost' }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(body).toMatch(/grpc_server_started_total/);
      // Plain HTTP is not served there.
      await expect(fetch(s.metricsUrl!.replace('https:', 'http:') + '/metrics')).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
