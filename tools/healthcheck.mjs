// The container health check (docker-compose.yml, the Dockerfile's HEALTHCHECK): asks the
// server's standard grpc.health.v1 service for the overall status and exits 0 only on SERVING.
// Plain JavaScript, so a probe every few seconds needs no bundling; the server answers health
// checks without credentials (server/index.ts) and NOT_SERVING while it recovers its data dir.
// A server serving TLS (docker-compose.secure.yml) is probed over TLS, trusting --tls-ca (or
// GLUONPS_TLS_CA); its certificate must name the host probed (localhost by default then).
//
//   node tools/healthcheck.mjs [--tls-ca FILE] [PORT | HOST:PORT]   (default 127.0.0.1:50051)
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const fail = (message) => {
  process.stdout.write(`healthcheck: ${message}\n`);
  process.exit(1);
};
let parsed;
try {
  parsed = parseArgs({ options: { 'tls-ca': { type: 'string' } }, allowPositionals: true, strict: true });
} catch (err) {
  fail(err.message);
}
const caFile = parsed.values['tls-ca'] ?? (process.env.GLUONPS_TLS_CA || undefined);
const arg = parsed.positionals[0] ?? '50051';
// Over TLS the certificate is checked against the host name, and make-secrets.sh's names localhost.
const address = /^\d+$/.test(arg) ? `${caFile === undefined ? '127.0.0.1' : 'localhost'}:${arg}` : arg;
let credentials = grpc.credentials.createInsecure();
if (caFile !== undefined) {
  try {
    credentials = grpc.credentials.createSsl(readFileSync(caFile));
  } catch (err) {
    fail(`cannot read the CA file ${JSON.stringify(caFile)}: ${err.message}`);
  }
}
const protoDir = fileURLToPath(new URL('../protos', import.meta.url));
const def = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [protoDir], enums: String });
const { Health } = grpc.loadPackageDefinition(def).grpc.health.v1;
const client = new Health(address, credentials);

client.Check({ service: '' }, { deadline: Date.now() + 4000 }, (err, res) => {
  const status = err ? `error: ${err.details || err.message}` : res.status;
  process.stdout.write(`gluon-ps at ${address}${caFile === undefined ? '' : ' (TLS)'}: ${status}\n`);
  client.close();
  process.exit(status === 'SERVING' ? 0 : 1);
});
