// gRPC server reflection (--reflection), asked by a reflection client built from grpc-js and the
// reflection protos that @grpc/reflection ships (what grpcurl does): it lists the services and
// returns the file descriptors of a service, over v1 and v1alpha; it is off by default
// (UNIMPLEMENTED); with tokens it needs one, and a read-only token is enough.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';
import { Status } from '../../client/index';
import { startServer } from '../../server/index';
import type { RunningServer, ServerOptions } from '../../server/index';
import { ROOT } from '../fixtures/bundled-module';

// The reflection protos @grpc/reflection ships (its package exports do not include them).
const PROTO_ROOT = path.join(ROOT, 'node_modules', '@grpc', 'reflection', 'build', 'proto');

interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionClient = grpc.Client & {
  serverReflectionInfo(metadata?: grpc.Metadata): grpc.ClientDuplexStream<object, ReflectionResponse>;
};

function reflectionClient(address: string, version: 'v1' | 'v1alpha'): ReflectionClient {
  const def = protoLoader.loadSync(path.join(PROTO_ROOT, `grpc/reflection/${version}/reflection.proto`), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: {
      reflection: Record<string, { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => ReflectionClient }>;
    };
  };
  return new pkg.grpc.reflection[version]!.ServerReflection(address, grpc.credentials.createInsecure());
}

/** One request on a reflection stream, its one answer (or the stream's error). */
function ask(client: ReflectionClient, request: object, token?: string): Promise<ReflectionResponse> {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo(md);
    call.on('data', (r: ReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

const running: RunningServer[] = [];
const clients: grpc.Client[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of running) await s.close(1000);
});

async function start(options: ServerOptions): Promise<RunningServer> {
  const s = await startServer({ port: 0, logLevel: 'silent', ...options });
  running.push(s);
  return s;
}
function client(s: RunningServer, version: 'v1' | 'v1alpha' = 'v1'): ReflectionClient {
  const c = reflectionClient(s.address, version);
  clients.push(c);
  return c;
}

const OUR_SERVICES = [
  'gluonps.v1.AdminService',
  'gluonps.v1.ParameterService',
  'gluonps.v1.TrainerService',
  'grpc.health.v1.Health',
];

describe('gRPC server reflection', () => {
  it('lists the services and describes them, over v1 and v1alpha', async () => {
    const s = await start({ reflection: true });
    for (const version of ['v1', 'v1alpha'] as const) {
      const list = await ask(client(s, version), { listServices: '' });
      const names = list.listServicesResponse!.service.map((x) => x.name);
      expect(names, version).toEqual(expect.arrayContaining(OUR_SERVICES));
      const files = await ask(client(s, version), { fileContainingSymbol: 'gluonps.v1.ParameterService' });
      const protos = files.fileDescriptorResponse!.fileDescriptorProto.map((b) => Buffer.from(b).toString('latin1'));
      // The descriptor of parameter.proto names the service and its methods.
      expect(
        protos.some((p) => p.includes('ParameterService') && p.includes('RowSparseData')),
        version,
      ).toBe(true);
    }
  });

  it('is off by default', async () => {
    const s = await start({});
    await expect(ask(client(s), { listServices: '' })).rejects.toMatchObject({ code: Status.UNIMPLEMENTED });
  });

  it('with tokens, needs one; a read-only token is enough', async () => {
    const s = await start({ reflection: true, auth: { tokens: ['refl-full'], readOnlyTokens: ['refl-ro'] } });
    await expect(ask(client(s), { listServices: '' })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(ask(client(s), { listServices: '' }, 'wrong')).rejects.toMatchObject({
      code: Status.UNAUTHENTICATED,
    });
    const list = await ask(client(s), { listServices: '' }, 'refl-ro');
    expect(list.listServicesResponse!.service.map((x) => x.name)).toEqual(expect.arrayContaining(OUR_SERVICES));
    const alpha = await ask(client(s, 'v1alpha'), { listServices: '' }, 'refl-full');
    expect(alpha.listServicesResponse!.service.length).toBeGreaterThanOrEqual(OUR_SERVICES.length);
  });
});
