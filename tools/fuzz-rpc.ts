// fuzz-rpc.ts: fuzzes every method of every service of a live server with fast-check. Requests
// are built from the methods' own descriptors (valid-looking messages with boundary and hostile
// values: huge counts, negative and non-finite numbers, unknown enum values), then sometimes
// mutated as bytes (flipped, truncated, extended) or replaced by random bytes; upload streams
// get any number of messages in any order and end, are cancelled, or stall; streamed reads are
// read, or never read and cancelled. Invariants: every call ends with a status within its
// deadline (plus a grace), and none is UNKNOWN or INTERNAL. The suite runs a fixed-seed share
// (test/integration/fuzz-rpc.test.ts); `npm run fuzz -- --minutes N` runs more against a server
// it starts, and prints the counts by status and what it found.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { LOADER_OPTIONS, PROTO_DIR, PROTO_FILES } from '../protos/load';
import { init, type ParameterServerClient } from '../client/index';

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  field: FieldDescriptor[];
}
interface EnumDescriptor {
  value: Array<{ name: string }>;
}

/** Names the fuzzer prefers, so some calls reach past "does not exist" (fuzzTarget makes them). */
export const NAMES = ['fz_w', 'fz_s', 'fz_c', 'fz_t'];

/** Declares what NAMES name: a parameter, a row_sparse one, a constant and a trainer. */
export async function fuzzTarget(ps: ParameterServerClient): Promise<void> {
  await (await ps.parameter('fz_w', { shape: [4], init: init.zero() })).initialize();
  await (await ps.parameter('fz_s', { shape: [8, 2], stype: 'row_sparse', init: init.zero() })).initialize();
  await ps.constant('fz_c', { shape: [2], dtype: 'float32', data: Float32Array.of(1, 2) });
  await ps.trainer('fz_t', ['fz_w'], 'sgd', { learningRate: 0.1 });
}

export interface FuzzMethod {
  service: string;
  name: string;
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  serialize: (value: unknown) => Buffer;
  request: fc.Arbitrary<Record<string, unknown>>;
}

/** The package-qualified key of a (possibly relative) type name, as proto-loader's descriptors give it. */
function resolve(defs: protoLoader.PackageDefinition, typeName: string): string {
  const name = typeName.replace(/^\./, '');
  const key = name in defs ? name : Object.keys(defs).find((k) => k.endsWith(`.${name}`));
  if (key === undefined) throw new Error(`fuzz: unknown type ${typeName}`);
  return key;
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const INTS = [0, 1, -1, 2, 3, 7, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 53 - 1, -(2 ** 53 - 1)];
const DOUBLES = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 1e308, -1e308, 5e-324];

function scalar(f: FieldDescriptor, defs: protoLoader.PackageDefinition): fc.Arbitrary<unknown> {
  switch (f.type) {
    case 'TYPE_STRING':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
        { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
        { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(5000), '../etc', 'a\u0000b', 'cpu(0)', 'gpu(99)') },
      );
    case 'TYPE_BOOL':
      return fc.boolean();
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return fc.oneof(fc.constantFrom(...DOUBLES), fc.double());
    case 'TYPE_BYTES':
      return fc.oneof(
        { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
        { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(16), Buffer.alloc(70_000)) },
      );
    case 'TYPE_ENUM': {
      const e = defs[resolve(defs, f.typeName)] as unknown as { type: EnumDescriptor };
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...e.type.value.map((v) => v.name)) },
        { weight: 1, arbitrary: fc.integer({ min: -3, max: 1000 }) },
      );
    }
    default: // every integer type
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...INTS) },
        { weight: 2, arbitrary: fc.integer({ min: -5, max: 64 }) },
      );
  }
}

function messageArb(
  typeName: string,
  defs: protoLoader.PackageDefinition,
  depth: number,
): fc.Arbitrary<Record<string, unknown>> {
  const desc = (defs[typeName] as unknown as { type: MessageDescriptor }).type;
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of desc.field) {
    let one: fc.Arbitrary<unknown>;
    if (f.type === 'TYPE_MESSAGE') {
      if (depth >= 3) continue;
      one = messageArb(resolve(defs, f.typeName), defs, depth + 1);
    } else one = scalar(f, defs);
    if (f.label === 'LABEL_REPEATED') {
      const huge = f.type === 'TYPE_MESSAGE' ? fc.constant([]) : one.map((v) => new Array<unknown>(100_000).fill(v));
      one = fc.oneof({ weight: 9, arbitrary: fc.array(one, { maxLength: 5 }) }, { weight: 1, arbitrary: huge });
    }
    fields[camel(f.name)] = one;
  }
  return fc.record(fields, { requiredKeys: [] });
}

/** Every method of every service the server offers, with a generator of its requests. */
export function fuzzMethods(): FuzzMethod[] {
  const defs = protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const out: FuzzMethod[] = [];
  for (const [service, def] of Object.entries(defs)) {
    if ((def as { format?: string }).format !== undefined) continue; // a message or an enum
    for (const [name, m] of Object.entries(def as grpc.ServiceDefinition)) {
      const md = m as grpc.MethodDefinition<unknown, unknown> & {
        requestType: { type: { name: string } };
      };
      const typeName = Object.keys(defs).find(
        (k) =>
          k.endsWith(`.${md.requestType.type.name}`) &&
          (defs[k] as { format?: string }).format === 'Protocol Buffer 3 DescriptorProto',
      )!;
      out.push({
        service,
        name,
        path: md.path,
        requestStream: md.requestStream,
        responseStream: md.responseStream,
        serialize: md.requestSerialize as (value: unknown) => Buffer,
        request: messageArb(typeName, defs, 0),
      });
    }
  }
  return out;
}

/** How one encoded message is damaged (or not). */
const mutation = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 32 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(b: Buffer, m: Mutation): Buffer {
  switch (m.kind) {
    case 'none':
      return b;
    case 'flip': {
      if (b.length === 0) return b;
      const c = Buffer.from(b);
      c[m.at % c.length]! ^= 1 << m.bit;
      return c;
    }
    case 'truncate':
      return b.subarray(0, b.length === 0 ? 0 : m.at % b.length);
    case 'append':
      return Buffer.concat([b, m.bytes]);
    case 'random':
      return Buffer.from(m.bytes);
  }
}

export interface FuzzCase {
  method: number;
  messages: Array<{ request: Record<string, unknown>; mutation: Mutation }>;
  /** Upload streams: end, cancel or stall (send nothing more); reads: read all, or cancel unread. */
  ending: 'end' | 'cancel' | 'stall';
}

export function fuzzCase(methods: FuzzMethod[]): fc.Arbitrary<FuzzCase> {
  return fc.nat(methods.length - 1).chain((method) =>
    fc.record({
      method: fc.constant(method),
      messages: fc.array(
        fc.record({ request: methods[method]!.request, mutation }),
        methods[method]!.requestStream ? { minLength: 0, maxLength: 6 } : { minLength: 1, maxLength: 1 },
      ),
      ending: fc.oneof(
        { weight: 8, arbitrary: fc.constant('end' as const) },
        { weight: 1, arbitrary: fc.constant('cancel' as const) },
        { weight: 1, arbitrary: fc.constant('stall' as const) },
      ),
    }),
  );
}

export interface CallOutcome {
  code: number;
  details: string;
  ms: number;
}

const identity = (b: Buffer): Buffer => b;

/** Runs one case; resolves with how the call ended (a client-side cancel shows as CANCELLED). */
export function runCase(
  client: grpc.Client,
  methods: FuzzMethod[],
  c: FuzzCase,
  deadlineMs: number,
): Promise<CallOutcome> {
  const m = methods[c.method]!;
  const bytes: Buffer[] = [];
  for (const msg of c.messages) {
    let encoded: Buffer;
    try {
      encoded = m.serialize(msg.request);
    } catch {
      encoded = Buffer.alloc(0); // a value protobufjs refuses to encode: send an empty message
    }
    bytes.push(mutate(encoded, msg.mutation));
  }
  const t0 = Date.now();
  const deadline = new Date(t0 + deadlineMs);
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: number, details: string): void => {
      if (done) return;
      done = true;
      resolve({ code, details, ms: Date.now() - t0 });
    };
    const onReply = (err: grpc.ServiceError | null): void =>
      finish(err ? err.code : grpc.status.OK, err?.details ?? '');
    if (!m.requestStream && !m.responseStream) {
      client.makeUnaryRequest(m.path, identity, identity, bytes[0]!, { deadline }, onReply);
    } else if (m.requestStream) {
      const call = client.makeClientStreamRequest(m.path, identity, identity, { deadline }, onReply);
      call.on('error', () => undefined);
      for (const b of bytes) call.write(b);
      if (c.ending === 'end') call.end();
      else if (c.ending === 'cancel') setTimeout(() => call.cancel(), 5);
      // 'stall': nothing more; the server's idle bound (or the deadline) ends it.
    } else {
      const call = client.makeServerStreamRequest(m.path, identity, identity, bytes[0]!, { deadline });
      call.on('error', (err: grpc.ServiceError) => finish(err.code, err.details));
      call.on('status', (s: grpc.StatusObject) => finish(s.code, s.details));
      if (c.ending === 'end') call.on('data', () => undefined);
      else setTimeout(() => call.cancel(), c.ending === 'cancel' ? 5 : 50);
    }
  });
}

export interface FuzzReport {
  cases: number;
  byStatus: Record<string, number>;
  byMethod: Record<string, number>;
  findings: string[];
}

/** A status a bad input must never get. */
export const FORBIDDEN = new Set<number>([grpc.status.UNKNOWN, grpc.status.INTERNAL]);

/**
 * Runs cases against `address` until `numRuns` are done or `until` (ms since epoch) passes.
 * Findings (forbidden statuses, calls that overran their deadline) are collected, not thrown.
 */
export async function fuzzRpc(options: {
  address: string;
  seed: number;
  numRuns: number;
  until?: number;
  deadlineMs?: number;
}): Promise<FuzzReport> {
  const methods = fuzzMethods();
  const deadlineMs = options.deadlineMs ?? 3000;
  const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
  const report: FuzzReport = { cases: 0, byStatus: {}, byMethod: {}, findings: [] };
  try {
    await fc.assert(
      fc.asyncProperty(fuzzCase(methods), async (c) => {
        if (options.until !== undefined && Date.now() > options.until) return;
        const m = methods[c.method]!;
        const out = await runCase(client, methods, c, deadlineMs);
        report.cases++;
        const status = grpc.status[out.code] ?? String(out.code);
        report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
        report.byMethod[m.name] = (report.byMethod[m.name] ?? 0) + 1;
        const bad = FORBIDDEN.has(out.code)
          ? `${status}: ${out.details}`
          : out.ms > deadlineMs + 1500
            ? `ended after ${out.ms} ms, past its ${deadlineMs} ms deadline`
            : null;
        if (bad !== null && report.findings.length < 50) {
          report.findings.push(`${m.service.split('.').pop()}/${m.name} ${bad} <- ${describeCase(c)}`);
        }
      }),
      {
        seed: options.seed,
        numRuns: options.numRuns,
        endOnFailure: true,
        // A time-bounded run stops at `until`; that is its end, not a failure.
        ...(options.until !== undefined
          ? { interruptAfterTimeLimit: Math.max(1, options.until - Date.now()), markInterruptAsFailure: false }
          : {}),
      },
    );
  } finally {
    client.close();
  }
  return report;
}

function describeCase(c: FuzzCase): string {
  const text = JSON.stringify(c, (_k, v: unknown) =>
    v instanceof Uint8Array ? `<${v.length} bytes>` : Array.isArray(v) && v.length > 8 ? `<${v.length} items>` : v,
  );
  return text.length > 600 ? `${text.slice(0, 600)}...` : text;
}
