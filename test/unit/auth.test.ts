// Token checks without a server: roles by constant-time digest comparison, the bearer metadata
// forms accepted, the read-only method table against the protos (every name it lists exists),
// and the start-up warnings for a server reachable from other machines without protection.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../protos/load';
import { Authenticator, exposureWarnings, isLoopbackHost, READ_METHODS } from '../../server/auth';
import { ROOT } from '../fixtures/bundled-module';

/** gRPC server reflection's service (--reflection), from the protos @grpc/reflection ships. */
function reflectionService(): object {
  const file = path.join(ROOT, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file)) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: { service: object } } } };
  };
  return pkg.grpc.reflection.v1.ServerReflection.service;
}

const md = (...values: string[]): grpc.Metadata => {
  const m = new grpc.Metadata();
  for (const v of values) m.add('authorization', v);
  return m;
};

describe('Authenticator', () => {
  const auth = Authenticator.create({ tokens: ['full-1', 'full-2', 'full-1'], readOnlyTokens: ['ro'] })!;

  it('is off without tokens, and counts distinct tokens', () => {
    expect(Authenticator.create(undefined)).toBeNull();
    expect(Authenticator.create({ tokens: [], readOnlyTokens: [] })).toBeNull();
    expect(auth.counts).toEqual({ tokens: 2, readOnlyTokens: 1 });
  });

  it('knows each token role; prefixes, extensions and other tokens are unknown', () => {
    expect(auth.roleOf('full-2')).toBe('full');
    expect(auth.roleOf('ro')).toBe('read-only');
    for (const t of ['full', 'full-10', 'r', 'ro ', '']) expect(auth.roleOf(t)).toBeNull();
  });

  it('checks the metadata and the method access', () => {
    expect(auth.check(md('Bearer full-1'), 'S/M', false)).toBeNull();
    expect(auth.check(md('bearer   ro'), 'S/Get', true)).toBeNull();
    expect(auth.check(md('Bearer ro'), 'ParameterService/SetData', false)).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: 'read-only token may not call ParameterService/SetData',
    });
    expect(auth.check(md(), 'S/M', true)).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringMatching(/^missing bearer token/),
    });
    expect(auth.check(md('Bearer nope'), 'S/M', true)).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      details: 'unknown bearer token',
    });
    for (const bad of [['Token full-1'], ['full-1'], ['Bearer full-1', 'Bearer full-1']]) {
      expect(auth.check(md(...bad), 'S/M', true)?.details).toMatch(/^malformed authorization metadata/);
    }
  });
});

describe('READ_METHODS', () => {
  it('names only methods the services have, and only methods that change nothing', () => {
    const v1 = loadProtos().gluonps.v1;
    const services: Record<string, object> = {
      ParameterService: v1.ParameterService.service,
      TrainerService: v1.TrainerService.service,
      AdminService: v1.AdminService.service,
      ServerReflection: reflectionService(),
    };
    expect(Object.keys(READ_METHODS).sort()).toEqual(Object.keys(services).sort());
    for (const [service, reads] of Object.entries(READ_METHODS)) {
      for (const m of reads) expect(Object.keys(services[service]!), `${service}/${m}`).toContain(m);
    }
    const writes = [
      'Declare',
      'DeclareConstant',
      'Initialize',
      'SetData',
      'ResetCtx',
      'ZeroGrad',
      'Cast',
      'SetShape',
      'CreateTrainer',
      'PushGrad',
      'Step',
      'Leave',
      'SetLearningRate',
      'LoadStates',
      'Checkpoint',
    ];
    for (const reads of Object.values(READ_METHODS)) for (const w of writes) expect(reads.has(w), w).toBe(false);
  });
});

describe('exposure warnings', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', 'localhost', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'ps.example.com', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('warns on other interfaces without authentication, or with tokens in clear text', () => {
    expect(exposureWarnings('127.0.0.1', false, 'off')).toEqual([]);
    expect(exposureWarnings('0.0.0.0', false, 'off')).toEqual([
      expect.stringMatching(/^listening on 0.0.0.0 without authentication or TLS: anyone who can reach this port/),
    ]);
    expect(exposureWarnings('0.0.0.0', false, 'tls')).toEqual([expect.stringMatching(/without authentication:/)]);
    expect(exposureWarnings('0.0.0.0', true, 'off')).toEqual([expect.stringMatching(/bearer tokens but without TLS/)]);
    expect(exposureWarnings('0.0.0.0', true, 'tls')).toEqual([]);
    expect(exposureWarnings('0.0.0.0', false, 'mutual')).toEqual([]);
  });
});
