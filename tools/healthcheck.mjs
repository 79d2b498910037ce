// The container health check (docker-compose.yml, the Dockerfile's HEALTHCHECK): asks the
// server's standard grpc.health.v1 service for the overall status and exits 0 only on SERVING.
// Plain JavaScript, so a probe every few seconds needs no bundling; the server answers health
// checks without credentials (server/index.ts) and NOT_SERVING while it recovers its data dir.
//
//   node tools/healthcheck.mjs [PORT | HOST:PORT]     (default 127.0.0.1:50051)
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const arg = process.argv[2] ?? '50051';
const address = /^\d+$/.test(arg) ? `127.0.0.1:${arg}` : arg;
const protoDir = fileURLToPath(new URL('../protos', import.meta.url));
const def = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [protoDir], enums: String });
const { Health } = grpc.loadPackageDefinition(def).grpc.health.v1;
const client = new Health(address, grpc.credentials.createInsecure());

client.Check({ service: '' }, { deadline: Date.now() + 4000 }, (err, res) => {
  const status = err ? `error: ${err.details || err.message}` : res.status;
  process.stdout.write(`gluon-ps at ${address}: ${status}\n`);
  client.close();
  process.exit(status === 'SERVING' ? 0 : 1);
});
