// health.ts: the standard grpc.health.v1 service. The overall status ('') and each named
// service report SERVING or NOT_SERVING; Watch streams every change until the call ends.
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_MAX_HEALTH_WATCHERS, overLimit } from './limits';
import type { HealthHandlers } from '../protos/generated/grpc/health/v1/Health';
import type { HealthCheckResponse } from '../protos/generated/grpc/health/v1/HealthCheckResponse';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{
    service: string;
    call: grpc.ServerWritableStream<unknown, HealthCheckResponse>;
  }>();

  constructor(
    services: readonly string[],
    initial: ServingStatus = 'NOT_SERVING',
    /** Watch streams open at once; health needs no token, so this bounds what probes can hold. */
    private readonly maxWatchers = DEFAULT_MAX_HEALTH_WATCHERS,
  ) {
    for (const s of ['', ...services]) this.statuses.set(s, initial);
  }

  /** Sets every service's status and tells the watchers. */
  setAll(status: ServingStatus): void {
    for (const s of this.statuses.keys()) this.statuses.set(s, status);
    for (const w of this.watchers) w.call.write({ status });
  }

  /** Ends every Watch stream (at shutdown, so the server can drain). */
  endWatches(): void {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
  }

  handlers(): HealthHandlers {
    return {
      Check: (call, callback) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined)
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        else callback(null, { status });
      },
      Watch: (call) => {
        const service = call.request.service;
        if (this.watchers.size >= this.maxWatchers) {
          const err = overLimit(
            'health: Watch streams open',
            this.watchers.size + 1,
            this.maxWatchers,
            '--max-health-watchers',
          );
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message });
          return;
        }
        call.write({ status: this.statuses.get(service) ?? 'SERVICE_UNKNOWN' });
        const entry = { service, call };
        this.watchers.add(entry);
        call.on('cancelled', () => this.watchers.delete(entry));
      },
    };
  }
}
