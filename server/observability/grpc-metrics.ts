// grpc-metrics.ts: the standard gRPC server metrics under go-grpc-prometheus's names, help texts
// and label sets (grpc_type, grpc_service, grpc_method, and grpc_code on handled_total), so
// dashboards and alerts written for Go and Java servers work unchanged; plus the tensor bytes
// each method moved. Every method of a registered service gets its series up front, every code
// of handled_total included, as go-grpc-prometheus's InitializeMetrics does: a method never
// called shows 0 instead of nothing. The call observer (call-observer.ts) bumps a method's
// pre-made children; nothing here runs per message but plain additions.
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { HistogramFamily, ValueFamily } from './families';
import type { HistogramChild, Value } from './families';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export function grpcTypeOf(m: { requestStream: boolean; responseStream: boolean }): GrpcType {
  if (m.requestStream) return m.responseStream ? 'bidi_stream' : 'client_stream';
  return m.responseStream ? 'server_stream' : 'unary';
}

/** Status codes 0..16 and their names as go-grpc-prometheus writes them ("OK", "NOT_FOUND"). */
const CODES: ReadonlyArray<{ code: number; name: string }> = Object.values(grpc.status)
  .filter((v): v is number => typeof v === 'number')
  .sort((a, b) => a - b)
  .map((code) => ({ code, name: grpc.status[code]! }));

/** One method's series, made once. */
export interface MethodSeries {
  readonly service: string;
  readonly method: string;
  readonly started: Value;
  /** By status code; a code outside 0..16 counts as UNKNOWN. */
  readonly handled: readonly Value[];
  readonly seconds: HistogramChild;
  readonly received: Value;
  readonly sent: Value;
  /** Tensor bytes (`chunk` fields) received from the client: pushes, uploads. */
  readonly bytesIn: Value;
  /** Tensor bytes sent to the client: pulls, state snapshots. */
  readonly bytesOut: Value;
}

export class GrpcMetrics {
  readonly started: ValueFamily;
  readonly handled: ValueFamily;
  readonly handling: HistogramFamily;
  readonly received: ValueFamily;
  readonly sent: ValueFamily;
  readonly pushed: ValueFamily;
  readonly pulled: ValueFamily;
  private readonly byPath = new Map<string, MethodSeries>();

  constructor(registry: Registry) {
    const labels = ['grpc_type', 'grpc_service', 'grpc_method'];
    this.started = new ValueFamily(
      'counter',
      'grpc_server_started_total',
      'Total number of RPCs started on the server.',
      labels,
    ).register(registry);
    this.handled = new ValueFamily(
      'counter',
      'grpc_server_handled_total',
      'Total number of RPCs completed on the server, regardless of success or failure.',
      [...labels, 'grpc_code'],
    ).register(registry);
    this.handling = new HistogramFamily(
      'grpc_server_handling_seconds',
      'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labels,
    ).register(registry);
    this.received = new ValueFamily(
      'counter',
      'grpc_server_msg_received_total',
      'Total number of RPC stream messages received on the server.',
      labels,
    ).register(registry);
    this.sent = new ValueFamily(
      'counter',
      'grpc_server_msg_sent_total',
      'Total number of gRPC stream messages sent by the server.',
      labels,
    ).register(registry);
    const byMethod = ['grpc_service', 'grpc_method'];
    this.pushed = new ValueFamily(
      'counter',
      'gluonps_bytes_pushed_total',
      'Tensor bytes received from clients (set_data, declare_constant, push_grad, load_states), by method.',
      byMethod,
    ).register(registry);
    this.pulled = new ValueFamily(
      'counter',
      'gluonps_bytes_pulled_total',
      'Tensor bytes sent to clients (data, grad, row_sparse_data, save_states), by method.',
      byMethod,
    ).register(registry);
  }

  /** Calls finished and tensor bytes moved since start, every method together (the status page's history). */
  totals(): { calls: number; bytesIn: number; bytesOut: number } {
    let calls = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    for (const s of this.byPath.values()) {
      calls += s.seconds.count;
      bytesIn += s.bytesIn.value;
      bytesOut += s.bytesOut.value;
    }
    return { calls, bytesIn, bytesOut };
  }

  /** Makes the series of every method of `service` (a grpc-js service definition). */
  preRegister(service: grpc.ServiceDefinition): void {
    for (const def of Object.values(service)) this.series(def.path, grpcTypeOf(def));
  }

  /** A method's series by its path ("/gluonps.v1.ParameterService/Get"), made on first use. */
  series(path: string, type: GrpcType): MethodSeries {
    let s = this.byPath.get(path);
    if (s !== undefined) return s;
    const slash = path.lastIndexOf('/');
    const service = path.slice(1, slash);
    const method = path.slice(slash + 1);
    s = {
      service,
      method,
      started: this.started.child(type, service, method),
      handled: CODES.map(({ name }) => this.handled.child(type, service, method, name)),
      seconds: this.handling.child(type, service, method),
      received: this.received.child(type, service, method),
      sent: this.sent.child(type, service, method),
      // Only streams carry tensors; a unary method's bytes go nowhere (no zero series for it).
      bytesIn: type === 'client_stream' || type === 'bidi_stream' ? this.pushed.child(service, method) : { value: 0 },
      bytesOut: type === 'server_stream' || type === 'bidi_stream' ? this.pulled.child(service, method) : { value: 0 },
    };
    this.byPath.set(path, s);
    return s;
  }
}
