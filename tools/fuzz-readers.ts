// fuzz-readers.ts: fast-check fuzzing of the server's own readers of untrusted or damaged bytes,
// as test/unit/formats-*.test.ts fuzz the tensor file readers: the LoadStates snapshot reader
// (common/formats/states.ts), the upload stream assembler (common/wire/chunks.ts: the
// TensorAssembler, and assembleFromEvents under any order of stream events), write-ahead log
// replay (server/durability/wal-replay.ts) and the checkpoint manifest reader
// (server/durability/checkpoint-dir.ts). Inputs are valid ones (round trips checked too), then
// mutated: bit flips, inserted and deleted bytes, huge integers, truncations, token edits of
// their JSON. Each target states its contract; a case that breaks it is a finding. The suite
// runs a fixed-seed share (test/unit/fuzz-readers.test.ts); `npm run fuzz` runs more.
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { damageArb, damage, mutate, mutationArb, type Damage } from './fuzz-mutations';
import { assembleFromEvents, TensorAssembler, type ByteDestination } from '../common/wire/chunks';
import { StatusError } from '../common/status-error';
import { streamError } from '../server/errors';
import { readStates, writeStates, type SavedStates } from '../common/formats/states';
import { encodeRecord } from '../server/durability/wal-record';
import { replayWal, WalCorruptError, walSegmentName } from '../server/durability/wal';
import { parseState, stringifyState } from '../common/formats/state-json';
import {
  checkpointDirName,
  CheckpointInvalidError,
  MANIFEST_NAME,
  readManifest,
  writeCheckpoint,
  type CheckpointManifest,
} from '../server/durability/checkpoint-dir';

export const READER_TARGETS = ['states', 'assembler', 'events', 'wal', 'manifest'] as const;
export type ReaderTarget = (typeof READER_TARGETS)[number];

export interface ReaderFuzzReport {
  /** Cases run per target. */
  cases: Record<string, number>;
  /** How the cases ended, per target (e.g. ok, INVALID_ARGUMENT, corrupt, truncated). */
  outcomes: Record<string, Record<string, number>>;
  /** Broken contracts, with fast-check's seed and path to replay them. */
  findings: string[];
}

// --- Contracts ---------------------------------------------------------------------------------

class Broken extends Error {}
const broken = (why: string): never => {
  throw new Broken(why);
};

const codeName = (e: unknown): string =>
  e instanceof StatusError ? (grpc.status[e.code] ?? String(e.code)) : e instanceof Error ? e.name : typeof e;

// states: readStates returns exactly what writeStates can write (every field typed, tensors
// laid out back to back inside the input), or throws INVALID_ARGUMENT `trainer 't': not a saved
// optimizer-state snapshot: ...`; nothing else.
const WHO = "trainer 'fz'";
const nameArb = fc.string({ minLength: 1, maxLength: 8 });
const savedArb: fc.Arbitrary<SavedStates> = fc.record({
  trainer: nameArb,
  optimizer: fc.constantFrom('sgd', 'adam', 'lamb'),
  step: fc.nat(),
  learningRate: fc.oneof(fc.constantFrom(0, 0.1, 1e-300, 1e300), fc.double({ min: 0, max: 10, noNaN: true })),
  params: fc.uniqueArray(
    fc.record({
      name: nameArb,
      layout: fc.string({ maxLength: 12 }),
      count: fc.nat(),
      dtype: fc.constantFrom('float32', 'float16'),
      shape: fc.array(fc.nat(5), { maxLength: 3 }),
      tensors: fc.array(fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
    }),
    { selector: (p) => p.name, maxLength: 3 },
  ),
});

function checkSavedStates(s: SavedStates, input: Buffer): void {
  const typed =
    typeof s.trainer === 'string' &&
    typeof s.optimizer === 'string' &&
    Number.isSafeInteger(s.step) &&
    s.step >= 0 &&
    Number.isFinite(s.learningRate) &&
    s.learningRate >= 0;
  if (!typed) broken(`accepted a header with bad fields: ${JSON.stringify({ ...s, params: s.params.length })}`);
  const names = new Set<string>();
  let end = -1;
  for (const p of s.params) {
    const ok =
      typeof p.name === 'string' &&
      typeof p.layout === 'string' &&
      typeof p.dtype === 'string' &&
      Array.isArray(p.shape) &&
      p.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      Number.isSafeInteger(p.count) &&
      p.count >= 0 &&
      p.tensors.length > 0 &&
      !names.has(p.name);
    if (!ok) broken(`accepted a bad parameter entry ${JSON.stringify({ ...p, tensors: p.tensors.length })}`);
    names.add(p.name);
    for (const list of p.tensors)
      for (const t of list) {
        const at = t.byteOffset - input.byteOffset;
        if (t.buffer !== input.buffer || at < 0 || at + t.byteLength > input.byteLength)
          broken(`a tensor of '${p.name}' is not inside the input`);
        if (end !== -1 && at !== end) broken(`a tensor of '${p.name}' does not follow the previous one`);
        end = at + t.byteLength;
      }
  }
  if (end !== -1 && end !== input.byteLength) broken(`${input.byteLength - end} bytes follow the last tensor`);
}

function statesCase(outcomes: Record<string, number>): fc.IProperty<[SavedStates, Damage]> {
  return fc.property(savedArb, damageArb, (saved, d) => {
    const golden = writeStates(saved);
    // The round trip first: a snapshot writeStates made reads back as it was.
    const back = readStates(WHO, golden);
    const plain = (s: SavedStates): unknown => ({
      ...s,
      params: s.params.map((p) => ({
        ...p,
        tensors: p.tensors.map((l) => l.map((t) => Buffer.from(t).toString('hex'))),
      })),
    });
    if (!isDeepStrictEqual(plain(back), plain(saved)))
      broken('a snapshot writeStates made does not read back as it was');
    const headerLen = golden.readUInt32LE(8);
    const input = damage(golden, d, {
      start: 12,
      end: 12 + headerLen,
      fix: (b) => b.length >= 12 && b.writeUInt32LE(headerLen + (b.length - golden.length), 8),
    });
    let out: SavedStates;
    try {
      out = readStates(WHO, input);
    } catch (e) {
      if (!(e instanceof StatusError) || e.code !== grpc.status.INVALID_ARGUMENT)
        broken(`threw ${codeName(e)}: ${(e as Error).message}`);
      if (!(e as Error).message.startsWith(`${WHO}: not a saved optimizer-state snapshot: `))
        broken(`refused with an unexpected message: ${(e as Error).message}`);
      outcomes.INVALID_ARGUMENT = (outcomes.INVALID_ARGUMENT ?? 0) + 1;
      return;
    }
    checkSavedStates(out, input);
    outcomes.ok = (outcomes.ok ?? 0) + 1;
  });
}

// assembler: given any sequence of messages a decoder can produce (headers with any byte_length
// as a number or a decimal string, chunks of bytes or none, names or none), the assembler
// completes tensors of exactly byte_length bytes holding the chunks in order, allocates only
// what byte_length allows under maxBytes, and otherwise throws the stream's error
// (INVALID_ARGUMENT or RESOURCE_EXHAUSTED) or the header check's own; nothing else.
const byteLengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat(48) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<number | string>(
      -1,
      1.5,
      NaN,
      Infinity,
      2 ** 53,
      2 ** 32,
      '12',
      '0',
      '-3',
      '1e3',
      '99999999999999999999',
      '',
    ),
  },
);
const messageArb = fc.record(
  {
    name: fc.oneof(fc.constant('p'), fc.constant(''), fc.constant(undefined)),
    header: fc.oneof(
      { weight: 2, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.record({ byteLength: byteLengthArb }) },
    ),
    chunk: fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 24 })),
  },
  { requiredKeys: [] },
);
const assemblyArb = fc.record({
  messages: fc.array(messageArb, { maxLength: 8 }),
  maxBytes: fc.constantFrom(0, 8, 32, 1 << 20),
  maxTensors: fc.constantFrom(1, 2, Infinity),
  nameField: fc.boolean(),
  refuseOver: fc.option(fc.nat(40)),
});
type Assembly = typeof assemblyArb extends fc.Arbitrary<infer T> ? T : never;

class Refused extends StatusError {}

function assemblerCase(outcomes: Record<string, number>): fc.IProperty<[Assembly]> {
  return fc.property(assemblyArb, (a) => {
    const allocations: number[] = [];
    const asm = new TensorAssembler<{ byteLength: number | string }, Buffer & ByteDestination>(
      {
        maxBytes: a.maxBytes,
        makeError: streamError,
        ...(a.nameField ? { nameField: 'name' } : {}),
        validateHeader: (h) => {
          if (a.refuseOver !== null && Number(h.byteLength) > a.refuseOver)
            throw new Refused(grpc.status.FAILED_PRECONDITION, 'refused by the header check');
        },
        allocate: (n) => {
          allocations.push(n);
          return Buffer.alloc(n) as Buffer & ByteDestination;
        },
      },
      a.maxTensors,
    );
    // The model: chunks since the last header, per tensor.
    let current: { length: number; parts: Uint8Array[] } | null = null;
    let completed = 0;
    try {
      for (const m of a.messages) {
        const h = m.header;
        if (h !== null && h !== undefined) current = { length: Number(h.byteLength), parts: [] };
        if (current !== null && m.chunk !== undefined) current.parts.push(m.chunk);
        const done = asm.accept(m);
        if (done !== null) {
          completed++;
          const want = Buffer.concat(current?.parts ?? []);
          if (done.data.byteLength !== current?.length || !done.data.equals(want))
            broken(
              `completed a tensor of ${done.data.byteLength} bytes that is not its chunks (${want.byteLength} bytes)`,
            );
          current = null;
        }
      }
      asm.finish(Math.min(a.maxTensors, 1));
    } catch (e) {
      if (e instanceof Broken) throw e;
      const ok =
        e instanceof Refused ||
        (e instanceof StatusError &&
          (e.code === grpc.status.INVALID_ARGUMENT || e.code === grpc.status.RESOURCE_EXHAUSTED));
      if (!ok) broken(`threw ${codeName(e)}: ${(e as Error).message}`);
      outcomes[codeName(e)] = (outcomes[codeName(e)] ?? 0) + 1;
    }
    for (const n of allocations) if (n > a.maxBytes) broken(`allocated ${n} bytes over maxBytes ${a.maxBytes}`);
    if (completed > a.maxTensors) broken(`completed ${completed} tensors, more than ${a.maxTensors}`);
    if (allocations.length > completed + 1) broken(`allocated ${allocations.length} buffers for ${completed} tensors`);
    outcomes.cases = (outcomes.cases ?? 0) + 1;
  });
}

// events: assembleFromEvents under any order of 'data', 'end', 'close', 'error' and a client's
// cancel (as grpc-js may emit them): it settles once, within its cancel grace after the stream
// ended, and no event, before or after, throws out of the emitter.
const eventArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('data' as const), m: messageArb }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { kind: 'end' as const },
      { kind: 'close' as const },
      { kind: 'error' as const },
      { kind: 'cancel' as const },
    ),
  },
);
type StreamEvent = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function eventsCase(outcomes: Record<string, number>): fc.IAsyncProperty<[StreamEvent[], number]> {
  return fc.asyncProperty(
    fc.array(eventArb, { maxLength: 10 }),
    fc.constantFrom(1, Infinity),
    async (events, count) => {
      const source = new EventEmitter() as EventEmitter & { cancelled: boolean };
      source.cancelled = false;
      let aborts = 0;
      let settled = 0;
      let how = 'pending';
      const p = assembleFromEvents(
        source as unknown as Parameters<typeof assembleFromEvents>[0],
        { maxBytes: 64, makeError: streamError },
        { count, abort: () => aborts++, closedEarly: 'closed early' },
      ).then(
        () => {
          settled++;
          how = 'ok';
        },
        (e: unknown) => {
          settled++;
          how = codeName(e);
        },
      );
      let ended = false;
      for (const ev of events) {
        try {
          if (ev.kind === 'data') source.emit('data', ev.m);
          else if (ev.kind === 'cancel') {
            source.cancelled = true;
            source.emit('cancelled');
          } else {
            if (ev.kind === 'error') source.emit('error', new StatusError(grpc.status.CANCELLED, 'stream error'));
            else source.emit(ev.kind);
            ended = true;
          }
        } catch (e) {
          broken(`emitting '${ev.kind}' threw ${codeName(e)}: ${(e as Error).message}`);
        }
        await Promise.resolve();
      }
      if (ended) {
        // A short stream waits up to 25 ms for a cancel to show; give it a few times that.
        await Promise.race([p, new Promise((r) => setTimeout(r, 200))]);
        if (settled !== 1)
          broken(`the stream ended but the assembly did not settle (${events.map((e) => e.kind).join(',')})`);
      }
      if (aborts > 1) broken(`aborted the call ${aborts} times`);
      outcomes[how] = (outcomes[how] ?? 0) + 1;
    },
  );
}

// wal: any damage to a log's segments: replay delivers only records that were written, with
// their lsns in sequence (a damaged one ends the log or is WalCorruptError, never a wrong
// record); with truncateCorrupt it never throws, and a second replay finds the same records and
// nothing more to repair.
const walArb = fc.record({
  records: fc.array(
    fc.record({
      meta: fc.record({
        op: fc.constantFrom('setData', 'declare', 'x'),
        v: fc.oneof(fc.double(), fc.string({ maxLength: 6 })),
      }),
      payload: fc.uint8Array({ maxLength: 40 }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  split: fc.nat(6),
  target: fc.nat(1),
  ms: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
});
type WalCase = typeof walArb extends fc.Arbitrary<infer T> ? T : never;

function walCase(outcomes: Record<string, number>, base: string): fc.IAsyncProperty<[WalCase]> {
  return fc.asyncProperty(walArb, async (c) => {
    const dir = mkdtempSync(path.join(base, 'wal-'));
    try {
      const written = c.records.map((r, i) => ({
        lsn: BigInt(i + 1),
        meta: stringifyState(r.meta),
        payload: Buffer.from(r.payload),
      }));
      const cut = c.split % written.length; // segment 2 starts at record cut (none when 0)
      const segments = cut === 0 ? [written] : [written.slice(0, cut), written.slice(cut)];
      const files = segments.map((recs) => {
        const file = path.join(dir, walSegmentName(recs[0]!.lsn));
        writeFileSync(
          file,
          Buffer.concat(
            recs.map((r) => {
              const e = encodeRecord(r.lsn, parseState(r.meta) as object, r.payload);
              return e.payload === null ? e.head : Buffer.concat([e.head, e.payload]);
            }),
          ),
        );
        return file;
      });
      const victim = files[c.target % files.length]!;
      writeFileSync(
        victim,
        c.ms.reduce<Buffer>((b, m) => mutate(b, m), readFileSync(victim)),
      );
      const replay = async (
        truncateCorrupt: boolean,
      ): Promise<Array<{ lsn: bigint; meta: string; payload: Buffer }>> => {
        const got: Array<{ lsn: bigint; meta: string; payload: Buffer }> = [];
        // As the server replays a log with no checkpoint before it: every record from lsn 1.
        await replayWal(dir, {
          fromLsn: 1n,
          truncateCorrupt,
          onRecord: (r) => {
            got.push({ lsn: r.lsn, meta: stringifyState(r.meta), payload: Buffer.from(r.payload) });
          },
        });
        return got;
      };
      const check = (got: Array<{ lsn: bigint; meta: string; payload: Buffer }>): void => {
        got.forEach((r, i) => {
          const want = written[Number(r.lsn) - 1];
          if (r.lsn !== BigInt(i + 1) || want === undefined || want.meta !== r.meta || !want.payload.equals(r.payload))
            broken(`replay delivered record ${i} with lsn ${r.lsn} that was not written so`);
        });
      };
      let how = 'ok';
      try {
        check(await replay(false));
      } catch (e) {
        if (e instanceof Broken) throw e;
        if (!(e instanceof WalCorruptError)) broken(`replay threw ${codeName(e)}: ${(e as Error).message}`);
        how = 'corrupt';
      }
      let first: Array<{ lsn: bigint; meta: string; payload: Buffer }>;
      try {
        first = await replay(true);
      } catch (e) {
        return broken(`replay with truncateCorrupt threw ${codeName(e)}: ${(e as Error).message}`);
      }
      check(first);
      const again = await replay(false).catch((e: unknown) =>
        broken(`a second replay threw ${codeName(e)}: ${(e as Error).message}`),
      );
      if (again.length !== first.length)
        broken(`a second replay found ${again.length} records, the first ${first.length}`);
      if (how === 'ok' && first.length < written.length) how = 'truncated';
      outcomes[how] = (outcomes[how] ?? 0) + 1;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// manifest: any damage to manifest.json: readManifest returns a manifest whose meta is the one
// written (its crc32 guards it), or throws CheckpointInvalidError; nothing else.
async function goldenManifest(base: string): Promise<{ text: Buffer; meta: unknown }> {
  const root = mkdtempSync(path.join(base, 'ckpt-golden-'));
  const meta = {
    lsn: '41',
    entries: [
      { meta: { name: 'w', shape: [2, 3], init: { kind: 'constant', value: -Infinity } }, tensors: ['param/w/0'] },
    ],
    trainers: [],
  };
  const { dir } = await writeCheckpoint(
    root,
    7n,
    [{ name: 'tensors.safetensors', write: async (fh) => void (await fh.write(Buffer.alloc(100, 1))) }],
    meta,
  );
  // The same bytes every run (a fixed seed must find the same cases): createdAt is not checksummed.
  const written = readFileSync(path.join(dir, MANIFEST_NAME), 'utf8');
  const text = Buffer.from(written.replace(/"createdAt": "[^"]*"/, '"createdAt": "2026-01-01T00:00:00.000Z"'));
  rmSync(root, { recursive: true, force: true });
  return { text, meta };
}

function manifestCase(
  outcomes: Record<string, number>,
  base: string,
  golden: { text: Buffer; meta: unknown },
): fc.IAsyncProperty<[Damage]> {
  return fc.asyncProperty(damageArb, async (d) => {
    const root = mkdtempSync(path.join(base, 'ckpt-'));
    try {
      const dir = path.join(root, checkpointDirName(7n));
      mkdirSync(dir);
      writeFileSync(path.join(dir, MANIFEST_NAME), damage(golden.text, d));
      let m: CheckpointManifest;
      try {
        m = await readManifest(dir);
      } catch (e) {
        if (!(e instanceof CheckpointInvalidError))
          broken(`readManifest threw ${codeName(e)}: ${(e as Error).message}`);
        outcomes.invalid = (outcomes.invalid ?? 0) + 1;
        return;
      }
      // Manifests from before the meta had a checksum are read unchecked: an edit that removes
      // the key must not let a changed meta through.
      if (stringifyState(m.meta) !== stringifyState(golden.meta))
        broken(
          `accepted a changed meta${m.metaCrc32 === undefined ? ' (no metaCrc32)' : ''}: ${stringifyState(m.meta)}`,
        );
      const how = m.metaCrc32 === undefined ? 'ok without metaCrc32' : 'ok';
      outcomes[how] = (outcomes[how] ?? 0) + 1;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

// --- Running ------------------------------------------------------------------------------------

/**
 * Runs `runs[target]` cases of each target (seeded), each for at most `msPerTarget` when
 * given; `dir` is a scratch directory for the file-based targets.
 */
export async function fuzzReaders(options: {
  seed: number;
  runs: Partial<Record<ReaderTarget, number>>;
  dir: string;
  msPerTarget?: number;
}): Promise<ReaderFuzzReport> {
  const report: ReaderFuzzReport = { cases: {}, outcomes: {}, findings: [] };
  const golden = await goldenManifest(options.dir);
  for (const target of READER_TARGETS) {
    const numRuns = options.runs[target] ?? 0;
    if (numRuns <= 0) continue;
    const outcomes: Record<string, number> = {};
    report.outcomes[target] = outcomes;
    const property = (() => {
      switch (target) {
        case 'states':
          return statesCase(outcomes);
        case 'assembler':
          return assemblerCase(outcomes);
        case 'events':
          return eventsCase(outcomes);
        case 'wal':
          return walCase(outcomes, options.dir);
        case 'manifest':
          return manifestCase(outcomes, options.dir, golden);
      }
    })() as unknown as fc.IRawProperty<unknown[], boolean>;
    const params: fc.Parameters<unknown[]> = {
      seed: options.seed,
      numRuns,
      ...(options.msPerTarget !== undefined
        ? { interruptAfterTimeLimit: Math.max(1, options.msPerTarget), markInterruptAsFailure: false }
        : {}),
    };
    const details: fc.RunDetails<unknown[]> = await fc.check(property, params);
    report.cases[target] = details.numRuns;
    if (details.failed) {
      const err = details.errorInstance as Error | undefined;
      report.findings.push(
        `${target}: ${err?.message ?? 'failed'} (seed ${details.seed}, path ${details.counterexamplePath}; counterexample ${JSON.stringify(details.counterexample, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 400)})`,
      );
    }
  }
  return report;
}
