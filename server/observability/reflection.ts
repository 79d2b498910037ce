// reflection.ts: gRPC server reflection (--reflection): grpc.reflection.v1 and v1alpha
// ServerReflection from @grpc/reflection, describing every service and message of our protos,
// so grpcurl, Postman and other languages' tools can discover and call the server without the
// .proto files. Its handlers go through the caller's wrapping (authentication: a read-only
// token is enough, as reflection changes nothing; the limits; readiness).
import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { loadPackageDefinition } from '../../protos/load';

/** The reflection services' short name, as READ_METHODS (server/auth.ts) and the wrappers know it. */
export const REFLECTION_SERVICE = 'ServerReflection';

/** Adds reflection's services (v1, v1alpha) through `add`, which wraps their handlers. */
export function addReflection(
  add: (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) => void,
): void {
  new ReflectionService(loadPackageDefinition()).addToServer({
    addService: (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) =>
      add(definition, handlers),
  } as Pick<grpc.Server, 'addService'>);
}
