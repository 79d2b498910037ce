// Loads the .proto files at runtime with @grpc/proto-loader and returns them typed with the
// committed generated types. The loader options here must match the generator flags in
// scripts/proto-gen.mjs, or the runtime objects would not have the shapes the types promise:
// camelCase field names (keepCase false), 64-bit integers as JS numbers (longs Number: every
// int64/uint64 here is a version, a dim or a row id, all far below 2^53), enums as their
// string names, defaults filled in, and virtual oneof fields.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as AdminProto } from './generated/admin';
import type { ProtoGrpcType as HealthProto } from './generated/health';
import type { ProtoGrpcType as ParameterProto } from './generated/parameter';
import type { ProtoGrpcType as TrainerProto } from './generated/trainer';

/**
 * Root of the .proto tree (imports are written relative to it, e.g. "gluonps/v1/tensor.proto"):
 * this file's folder, or GLUONPS_PROTO_DIR, or ./protos under the working directory when this
 * code runs from a bundle elsewhere (the benchmarks bundle into .bench-out/).
 */
export const PROTO_DIR = resolveProtoDir();

function resolveProtoDir(): string {
  const candidates = [
    process.env.GLUONPS_PROTO_DIR,
    fileURLToPath(new URL('.', import.meta.url)),
    fileURLToPath(new URL('../protos', import.meta.url)), // bundled into a sibling folder
    path.resolve('protos'),
  ];
  for (const dir of candidates) {
    if (dir !== undefined && dir !== '' && existsSync(path.join(dir, 'gluonps/v1/parameter.proto'))) return dir;
  }
  throw new Error(
    `gluon-ps: cannot find the .proto files (looked in ${candidates.filter(Boolean).join(', ')}); ` +
      'set GLUONPS_PROTO_DIR to the protos/ folder',
  );
}

/** Every .proto the server and client load, relative to PROTO_DIR. */
export const PROTO_FILES: readonly string[] = [
  'gluonps/v1/admin.proto',
  'gluonps/v1/parameter.proto',
  'gluonps/v1/tensor.proto',
  'gluonps/v1/trainer.proto',
  'grpc/health/v1/health.proto',
];

/** proto-loader options; keep in sync with GEN_FLAGS in scripts/proto-gen.mjs. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Every service and message of the loaded files, typed by the generated code. */
export type ProtoGrpcType = AdminProto & ParameterProto & TrainerProto & HealthProto;

let cachedDefinition: protoLoader.PackageDefinition | undefined;

/** The raw package definition (method paths, serializers); parsed once per process. */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
  return cachedDefinition;
}

/** The typed gRPC object tree: `loadProtos().gluonps.v1.ParameterService` etc. */
export function loadProtos(): ProtoGrpcType {
  // grpc-js types the result as a loose GrpcObject; the generated ProtoGrpcType is the
  // precise shape of the same object for exactly these files and options.
  return grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as ProtoGrpcType;
}
