// http.ts: the metrics port (--metrics-port): a small HTTP server, apart from the gRPC port, for
// Prometheus (/metrics) and people (/ and /status.json, the status page). It is HTTPS with the
// server's own certificate when --tls-cert is set (and asks for client certificates under mutual
// TLS), and takes the gRPC port's bearer tokens when tokens are set: any token, a read-only one
// included, as `Authorization: Bearer <token>` (Prometheus's `authorization`) or as the password
// of HTTP Basic authentication (a browser asks for it; the user name is ignored).
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth';
import { isLoopbackHost } from '../auth';
import type { ServerTlsOptions } from '../config';
import type { TlsMode } from '../tls';

export interface HttpReply {
  contentType: string;
  body: string | Buffer;
  /** More headers (e.g. a Content-Security-Policy for the page). */
  headers?: Record<string, string>;
}

export interface HttpEndpointOptions {
  host: string;
  port: number;
  auth: Authenticator | null;
  tls: ServerTlsOptions | null;
  log: Logger;
  /** GET handlers by path. */
  routes: Record<string, () => Promise<HttpReply> | HttpReply>;
}

export interface HttpEndpoint {
  /** host:port bound. */
  address: string;
  port: number;
  /** http(s)://host:port */
  url: string;
  close(): Promise<void>;
}

/**
 * Why serving the metrics port on `host` is refused: reachable from other machines and nobody
 * is authenticated (no token, no mutual TLS); null otherwise. --insecure overrides it.
 */
export function metricsExposureRefusal(host: string, authenticated: boolean, mutualTls: boolean): string | null {
  if (isLoopbackHost(host) || authenticated || mutualTls) return null;
  return (
    `--metrics-host ${host} is not a loopback address and no caller would be authenticated: anyone who can reach the port could read the metrics and the status page (parameter and trainer names, workers, memory). ` +
    'Set --auth-token-file (any token, a read-only one included, may read them), or --tls-client-ca, or pass --insecure (GLUONPS_INSECURE=1) to serve it anyway (docs/observability.md)'
  );
}

/** Warnings to log at start-up when the metrics port is reachable from other machines. */
export function metricsExposureWarnings(host: string, authenticated: boolean, tls: TlsMode): string[] {
  if (isLoopbackHost(host)) return [];
  if (!authenticated && tls !== 'mutual')
    return [
      `metrics port on ${host} without authentication: anyone who can reach it can read the metrics and the status page (docs/observability.md)`,
    ];
  if (authenticated && tls === 'off')
    return [
      `metrics port on ${host} with bearer tokens but without TLS: tokens cross the network in clear text; set --tls-cert and --tls-key (docs/observability.md)`,
    ];
  return [];
}

const CHALLENGE = 'Basic realm="gluon-ps", charset="UTF-8", Bearer realm="gluon-ps"';

/** The token a request presents (Bearer, or Basic's password), or null. */
function presentedToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  if (bearer) return bearer[1]!;
  const basic = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(h);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

function send(res: ServerResponse, status: number, reply: HttpReply): void {
  res.writeHead(status, {
    'Content-Type': reply.contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...reply.headers,
  });
  res.end(reply.body);
}

const text = (body: string, headers?: Record<string, string>): HttpReply => ({
  contentType: 'text/plain; charset=utf-8',
  body: `${body}\n`,
  headers,
});

export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  const { auth, log, routes } = options;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (auth !== null) {
      const token = presentedToken(req);
      if (token === null || auth.roleOf(token) === null) {
        log.info({ path: req.url, peer: req.socket.remoteAddress, token: token !== null }, 'metrics request refused');
        send(
          res,
          401,
          text('unauthorized: send a gluon-ps token (Bearer, or as the Basic password)', {
            'WWW-Authenticate': CHALLENGE,
          }),
        );
        return;
      }
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (route === undefined) return send(res, 404, text(`not found: ${path} (try /, /metrics, /status.json)`));
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, text(`method ${req.method} not allowed`, { Allow: 'GET, HEAD' }));
    Promise.resolve()
      .then(route)
      .then(
        (reply) => send(res, 200, reply),
        (err: unknown) => {
          log.error({ err, path }, 'metrics endpoint failed');
          send(res, 500, text('internal error; see the server log'));
        },
      );
  };
  const tls = options.tls;
  const server: Server =
    tls === null
      ? createHttpServer(handle)
      : createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          handle,
        );
  // A scrape or a page poll is small; a client that stalls is dropped.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  const address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    address,
    port,
    url: `${tls === null ? 'http' : 'https'}://${address}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
