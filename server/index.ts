// index.ts: startServer(options) builds the store, registers the parameter and health services
// on a grpc-js server with raised flow-control windows, and binds it (plaintext or TLS, with
// bearer-token authentication when tokens are configured; as one shard of a cluster, serving
// only calls routed for it). close() shuts down gracefully: stop accepting, let in-flight calls
// finish (bounded), then release memory.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import * as nk from '../native/index';
import { loadProtos } from '../protos/load';
import { Authenticator, exposureRefusal, exposureWarnings, withAuth } from './auth';
import { ConfigError, DEFAULTS, deviceRefusal, shardRoute } from './config';
import type { ServerOptions } from './config';
import { HealthService } from './health';
import { createLogger } from './log';
import { parameterServiceHandlers } from './rpc/parameter-service';
import { trainerServiceHandlers } from './rpc/trainer-service';
import { adminServiceHandlers, ALWAYS_ANSWERED } from './rpc/admin-service';
import { withRouting } from './rpc/routing';
import { CHUNKED_READ_METHODS } from '../common/wire/chunks';
import { joinEtcd, type EtcdRegistration } from './cluster/etcd-registration';
import { withChunkSerializers } from './rpc/framing';
import type { StreamBounds } from './rpc/calls';
import { CallCounter, withCallLimits } from './rpc/call-limits';
import { rejectMalformed, withSafeDeserializers } from './rpc/malformed';
import { applyServerFlowControl, serverOptions } from './rpc/transport';
import { ParameterStore } from './store/parameter-store';
import { serverTransport } from './tls';
import { TrainerRegistry } from './trainer/registry';
import { Durability } from './durability/durability';
import { DataDirLockedError } from './durability/lock';
import { WAL_MAX_PAYLOAD_BYTES } from './durability/wal-record';
import { defaultMaxDeclaredBytes, defaultMemoryBudget } from './limits';
import { applyMemoryBudget, memoryInUse } from './memory';
import { callObserver } from './observability/call-observer';
import { metricsExposureRefusal, metricsExposureWarnings, startHttpEndpoint } from './observability/http';
import type { HttpEndpoint } from './observability/http';
import { MetricsHistory } from './observability/history';
import { ServerMetrics } from './observability/metrics';
import { documentReply, pageReply, scriptReply } from './observability/page';
import type { StatusDocument } from './observability/page';
import { addReflection, REFLECTION_SERVICE } from './observability/reflection';
import { serverStatus } from './observability/status';
import type { StatusSource } from './observability/status';
import { WarningRing } from './observability/warnings';
import type { ServerStatus } from '../common/status';

export type { AuthOptions, ServerOptions, ServerTlsOptions, ShardOptions } from './config';
export { ConfigError } from './config';

export interface RunningServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  store: ParameterStore;
  trainers: TrainerRegistry;
  /** The data directory's manager, when the server persists state. */
  durability: Durability | null;
  log: Logger;
  /** The metrics port's http(s)://host:port, when --metrics-port is set. */
  metricsUrl: string | null;
  /** This server's metrics (its own prom-client Registry), when --metrics-port is set. */
  metrics: ServerMetrics | null;
  /** The last warnings and errors logged (GetStatus shows them). */
  warnings: WarningRing;
  /**
   * A snapshot of the server (what AdminService.GetStatus answers): `trainer` limits it to that
   * trainer (NOT_FOUND when it does not exist).
   */
  status(options?: { trainer?: string }): Promise<ServerStatus>;
  /** Graceful shutdown; in-flight calls get up to `graceMs` (default 10 s) before they are cut. */
  close(graceMs?: number): Promise<void>;
}

const SERVICE_NAMES = ['gluonps.v1.ParameterService', 'gluonps.v1.TrainerService', 'gluonps.v1.AdminService'];

/** Checks the --devices list against this build and machine. */
function prepareDevices(options: ServerOptions): string[] {
  const info = nk.buildInfo();
  const devices = options.devices ?? (info.gpuCount > 0 ? ['cpu', 'gpu'] : ['cpu']);
  for (const d of devices) {
    if (d === 'cpu') continue;
    const id = d === 'gpu' ? 0 : Number(/\d+/.exec(d)![0]);
    try {
      nk.checkDevice({ type: 'gpu', id });
    } catch (err) {
      throw new ConfigError(`--devices ${d}: ${(err as Error).message}`);
    }
  }
  return devices;
}

/**
 * Wraps every handler so it answers UNAVAILABLE, with `refusal()`'s message, while that is not
 * null; the methods in `always` are answered regardless (the status says why the rest are not).
 */
function whenReady<T extends object>(
  handlers: T,
  refusal: () => string | null,
  always: ReadonlySet<string> = new Set(),
): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (...args: unknown[]) => unknown]>) {
    if (always.has(name)) {
      out[name] = fn;
      continue;
    }
    out[name] = (call: { emit(e: string, v: unknown): void }, callback?: (err: unknown) => void) => {
      const details = refusal();
      if (details === null) return fn(call, callback);
      const unavailable = { code: grpc.status.UNAVAILABLE, details };
      if (callback) callback(unavailable);
      else call.emit('error', unavailable);
      return undefined;
    };
  }
  return out as T;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULTS.host;
  const port = options.port ?? DEFAULTS.port;
  const maxCpuContexts = options.maxCpuContexts ?? DEFAULTS.maxCpuContexts;
  const startedAt = Date.now();
  const warnings = new WarningRing();
  const log = createLogger(options.logLevel ?? DEFAULTS.logLevel, warnings);
  // Checked first: a bad token or certificate should fail before anything is allocated.
  const auth = Authenticator.create(options.auth);
  const route = shardRoute(options.shard);
  const transport = serverTransport(options.tls);
  const refused = exposureRefusal(host, auth !== null, transport.mode);
  if (refused !== null && options.insecure !== true) throw new ConfigError(refused);
  const metricsPort = options.metricsPort ?? null;
  const metricsHost = options.metricsHost ?? DEFAULTS.metricsHost;
  const metricsRefused =
    metricsPort === null ? null : metricsExposureRefusal(metricsHost, auth !== null, transport.mode === 'mutual');
  if (metricsRefused !== null && options.insecure !== true) throw new ConfigError(metricsRefused);
  const maxTensorBytes = options.maxTensorBytes ?? DEFAULTS.maxTensorBytes;
  // A tensor is one log record's payload (set_data, a constant, a gradient): a limit the log
  // cannot hold would make such a write fail the log and stop the server.
  if (
    options.dataDir &&
    (options.durability ?? 'wal-batch') !== 'checkpoint' &&
    maxTensorBytes > WAL_MAX_PAYLOAD_BYTES
  ) {
    throw new ConfigError(
      `--max-tensor-bytes ${maxTensorBytes} is over the ${WAL_MAX_PAYLOAD_BYTES} bytes one write-ahead log record can hold; lower it, or use --durability checkpoint (no log)`,
    );
  }
  const devices = prepareDevices(options);
  // One budget over everything the process holds for callers (server/memory.ts). It applies
  // once the data dir is recovered: what it holds was acknowledged and must load, as with the
  // count limits. The addon's accounting is per process, so this is the process's budget.
  const memoryBudget = options.memoryBudget === undefined ? defaultMemoryBudget() : options.memoryBudget;
  applyMemoryBudget(null);
  const store = new ParameterStore({
    maxTensorBytes,
    maxCpuContexts,
    maxParameters: options.maxParameters ?? DEFAULTS.maxParameters,
    maxConstants: options.maxConstants ?? DEFAULTS.maxConstants,
    maxDeclaredBytes: options.maxDeclaredBytes === undefined ? defaultMaxDeclaredBytes() : options.maxDeclaredBytes,
    deviceRefusal: (d) => deviceRefusal(devices, d),
    onEvent: (event, fields) => log.warn(fields, event),
  });

  const protos = loadProtos();
  const bounds: StreamBounds = {
    idleMs: options.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs,
    readMs: options.readTimeoutMs ?? DEFAULTS.readTimeoutMs,
  };
  const trainers = new TrainerRegistry(store, log, {
    maxWorkersPerTrainer: options.maxWorkersPerTrainer ?? DEFAULTS.maxWorkersPerTrainer,
    maxTrainers: options.maxTrainers ?? DEFAULTS.maxTrainers,
  });
  const health = new HealthService(
    SERVICE_NAMES,
    'NOT_SERVING',
    options.maxHealthWatchers ?? DEFAULTS.maxHealthWatchers,
  );
  const callLimits = {
    maxConcurrentCalls: options.maxConcurrentCalls ?? DEFAULTS.maxConcurrentCalls,
    maxMetadataBytes: options.maxMetadataBytes ?? DEFAULTS.maxMetadataBytes,
  };
  const inFlight = new CallCounter();
  let durability: Durability | null = null;
  const metrics =
    metricsPort === null
      ? null
      : new ServerMetrics({
          store,
          trainers,
          durability: () => durability,
          inFlight,
          shard: route.count > 1 || route.cluster !== 'default' ? { index: route.index, cluster: route.cluster } : null,
        });
  if (metrics !== null) trainers.events = metrics.trainerEvents;
  // The server pings a quiet connection and drops one that does not answer, ending its calls:
  // a vanished client's uploads and reads are freed without waiting for the stream bounds.
  const server = new grpc.Server(
    serverOptions({
      'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? DEFAULTS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? DEFAULTS.keepaliveTimeoutMs,
      // Calls over this on one connection wait in the client's queue (HTTP/2 SETTINGS).
      'grpc.max_concurrent_streams': options.maxStreamsPerConnection ?? DEFAULTS.maxStreamsPerConnection,
      // Every call of every service: its metrics, its request id, its log line if it fails or is slow.
      interceptors: [
        callObserver({ log, slowCallMs: options.slowCallMs ?? DEFAULTS.slowCallMs, metrics: metrics?.grpc ?? null }),
      ],
    }),
  );
  applyServerFlowControl(server, { warn: (msg) => log.warn(msg) });
  /** Adds a service, with its gRPC series made up front when metrics are on. */
  const addService = (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): void => {
    metrics?.grpc.preRegister(definition);
    server.addService(definition, handlers);
  };
  // Calls are refused (UNAVAILABLE) until recovery from the data dir is done; health says NOT_SERVING.
  /** Why calls are refused right now (recovering, or the write-ahead log failed); null: serving. */
  let refusal: string | null = 'the server is still recovering its state; retry shortly';
  // Authentication wraps the readiness check: an unauthenticated caller learns nothing, not
  // even that the server is recovering. A call routed for another shard is refused whether or
  // not the server is ready; the server-level services (admin, reflection) also serve unrouted
  // calls on a shard, for operators' tools pointed at one server.
  const guard = <T extends object>(service: string, handlers: T, always?: ReadonlySet<string>): T => {
    const readied = rejectMalformed(
      service,
      withCallLimits(
        service,
        withRouting(
          whenReady(handlers, () => refusal, always),
          route,
          {
            exempt: ALWAYS_ANSWERED,
            unroutedAllowed: service === 'AdminService' || service === REFLECTION_SERVICE,
          },
        ),
        callLimits,
        inFlight,
      ),
    );
    return auth === null ? readied : withAuth(readied, service, auth, log);
  };
  // Streamed reads: TensorChunk.chunk is field 2.
  const parameterService = withChunkSerializers(
    withSafeDeserializers(protos.gluonps.v1.ParameterService.service),
    CHUNKED_READ_METHODS,
    'chunk',
    2,
    (msg) => log.warn(msg),
  );
  addService(parameterService, guard('ParameterService', parameterServiceHandlers(store, log, bounds)));
  addService(
    withSafeDeserializers(protos.gluonps.v1.TrainerService.service),
    guard('TrainerService', trainerServiceHandlers(trainers, store, log, bounds)),
  );
  let closing: Promise<void> | null = null;
  const statusSource: StatusSource = {
    startedAt,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`, // the bound port once bound
    devices,
    security: {
      tls: transport.mode,
      auth: auth !== null,
      fullAccessTokens: auth?.counts.tokens ?? 0,
      readOnlyTokens: auth?.counts.readOnlyTokens ?? 0,
    },
    health: () =>
      closing !== null
        ? { status: 'NOT_SERVING', reason: 'the server is shutting down' }
        : refusal !== null
          ? { status: 'NOT_SERVING', reason: refusal }
          : { status: 'SERVING', reason: '' },
    store,
    trainers,
    durability: () => durability,
    warnings,
  };
  addService(
    withSafeDeserializers(protos.gluonps.v1.AdminService.service),
    guard(
      'AdminService',
      adminServiceHandlers(statusSource, log, options.maxReasonBytes ?? DEFAULTS.maxReasonBytes, {
        route,
        serving: () => refusal === null,
      }),
      // What the server is doing matters most when it refuses the rest: recovering, or its log
      // failed. Which shard it is, too: clients ask it before their first routed call.
      new Set(['GetStatus', 'ListTrainers', ...ALWAYS_ANSWERED]),
    ),
  );
  // Reflection describes the services to tools (grpcurl): behind the tokens like the services.
  if (options.reflection === true)
    addReflection((definition, handlers) =>
      addService(withSafeDeserializers(definition), guard(REFLECTION_SERVICE, handlers)),
    );
  // Health stays open: load balancers and orchestrators probe it without credentials.
  addService(withSafeDeserializers(protos.grpc.health.v1.Health.service), rejectMalformed('Health', health.handlers()));

  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, transport.credentials, (err, p) => (err ? reject(err) : resolve(p)));
  }).catch((err: Error) => {
    throw new ConfigError(`cannot listen on ${host}:${port}: ${err.message}`);
  });
  const address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  statusSource.address = address;
  // Up before recovery, so a long one can be watched (health says NOT_SERVING meanwhile).
  let metricsHttp: HttpEndpoint | null = null;
  const history = metrics === null ? null : new MetricsHistory(metrics);
  if (metrics !== null && history !== null && metricsPort !== null) {
    const statusDocument = async (): Promise<StatusDocument> => ({
      status: await serverStatus(statusSource),
      history: history.snapshot(),
    });
    try {
      metricsHttp = await startHttpEndpoint({
        host: metricsHost,
        port: metricsPort,
        auth,
        tls: options.tls ?? null,
        log,
        routes: {
          '/metrics': () => metrics.scrape(),
          '/status.json': async () => documentReply(await statusDocument()),
          '/': async () => pageReply(await statusDocument()),
          '/status.js': scriptReply,
        },
      });
    } catch (err) {
      server.forceShutdown();
      history.stop();
      throw new ConfigError(`cannot serve metrics on ${metricsHost}:${metricsPort}: ${(err as Error).message}`);
    }
  }
  // With --etcd: the layout checked and the index claimed before recovery (docs/cluster.md).
  let registration: EtcdRegistration | null = null;
  if (options.etcd) {
    const dataDir = options.dataDir || null;
    try {
      registration = await joinEtcd(options.etcd, {
        route,
        host,
        port: boundPort,
        dataDir,
        log,
        stop: () => void close(),
      });
    } catch (err) {
      server.forceShutdown();
      await metricsHttp?.close();
      history?.stop();
      throw err;
    }
  }
  if (options.dataDir) {
    // What the data dir holds was acknowledged, perhaps under higher limits: it must still start.
    store.limitsEnforced = false;
    try {
      durability = await Durability.open(
        {
          dataDir: options.dataDir,
          mode: options.durability ?? 'wal-batch',
          checkpointEverySteps: options.checkpointEverySteps,
          checkpointEverySeconds: options.checkpointEverySeconds,
          keepCheckpoints: options.keepCheckpoints,
          walBatchMs: options.walBatchMs,
          truncateCorruptWal: options.walTruncateCorrupt,
          checkpointMinIntervalMs: options.checkpointMinIntervalMs,
          onLogFailure: (message) => {
            refusal = message;
            health.setAll('NOT_SERVING');
          },
          events: metrics?.durabilityEvents,
        },
        store,
        trainers,
        log,
      );
    } catch (err) {
      server.forceShutdown();
      await metricsHttp?.close();
      history?.stop();
      await registration?.leave();
      // The lock's message already names the data dir and its holder.
      const message = err instanceof Error ? err.message : String(err);
      throw new ConfigError(err instanceof DataDirLockedError ? message : `data dir ${options.dataDir}: ${message}`);
    }
  }
  store.limitsEnforced = true;
  applyMemoryBudget(memoryBudget);
  refusal = null;
  health.setAll('SERVING');
  await registration
    ?.serving()
    .catch((err: Error) => log.error({ err: err.message }, 'cannot mark the shard serving in etcd'));
  const security = { auth: auth === null ? 'off' : auth.counts, tls: transport.mode };
  log.info(
    {
      address,
      devices,
      maxTensorBytes: store.maxTensorBytes,
      memoryBudget,
      memoryInUse: memoryInUse().allocated,
      maxDeclaredBytes: store.accounting.maxDeclaredBytes,
      declaredBytes: store.accounting.declaredBytes,
      maxWorkersPerTrainer: trainers.maxWorkersPerTrainer,
      cuda: nk.buildInfo().cuda,
      kernelJobs: nk.MAX_CONCURRENT_KERNELS,
      dataDir: options.dataDir ?? null,
      durability: durability ? durability.options.mode : 'none',
      metrics: metricsHttp?.url ?? null,
      reflection: options.reflection === true,
      shard: route.count > 1 || route.cluster !== 'default' ? route : undefined,
      etcd: registration?.record ?? undefined,
      ...security,
    },
    'listening',
  );
  for (const warning of exposureWarnings(host, auth !== null, transport.mode)) log.warn({ host }, warning);
  if (metricsHttp !== null)
    for (const warning of metricsExposureWarnings(metricsHost, auth !== null, transport.mode))
      log.warn({ metricsHost }, warning);
  if (transport.validTo !== null && transport.validTo.getTime() < Date.now()) {
    log.warn(
      { validTo: transport.validTo.toISOString() },
      'the TLS certificate has expired: clients will refuse the handshake',
    );
  }

  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      log.info('shutting down: no new calls; finishing in-flight ones');
      await registration?.leave(); // clients following etcd see the shard leave at once
      health.setAll('NOT_SERVING');
      health.endWatches();
      // Steps waiting at a sync barrier would otherwise hold the shutdown for the whole grace.
      // With a data dir the open step is kept (for the final checkpoint); without, it fails.
      if (durability) trainers.suspendAll();
      else trainers.closeAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn({ graceMs }, 'in-flight calls did not finish in time; cutting them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (durability) {
        try {
          await durability.close();
        } catch (err) {
          log.error({ err }, 'final checkpoint failed; the write-ahead log still has every change');
        }
      }
      await metricsHttp?.close();
      history?.stop();
      // Frees every tensor and stops counting what the store held against the memory budget
      // (an embedding process may start another server).
      trainers.closeAll();
      store.clear();
      log.info('stopped');
    })();
    return closing;
  };
  return {
    address,
    port: boundPort,
    store,
    trainers,
    durability,
    log,
    metricsUrl: metricsHttp?.url ?? null,
    metrics,
    warnings,
    status: (opts = {}) => serverStatus(statusSource, opts),
    close,
  };
}
