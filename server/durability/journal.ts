// journal.ts: what the store and trainers tell the durability layer. Each acknowledged
// mutation is appended as one record (JSON meta + optional tensor bytes) in the order it was
// applied; the caller awaits `durable` before acknowledging. During recovery records are
// replayed into the same store methods with the journal muted.
import type { DeviceTensor } from '../../native/index';

export type JournalMeta = { op: string } & Record<string, unknown>;

/**
 * A record's tensor bytes, or a function producing them: only a log that writes payloads calls
 * it, so a mode without one never makes a view of a freshly uploaded tensor (see
 * ParameterStore.setData: such a view costs the GC a full collection per large upload).
 */
export type JournalPayload = Uint8Array | (() => Uint8Array);

/** A piece of a step record's payload: a host tensor, read in place off the main thread, or bytes. */
export type JournalPart = DeviceTensor | Uint8Array;

export interface Journal {
  /**
   * The largest payload one record can hold (Infinity when records are not written): a change
   * whose record would be larger is refused before anything changes.
   */
  readonly maxPayloadBytes: number;
  /** Appends a record; the promise resolves when it is as durable as the mode promises. */
  append(meta: JournalMeta, payload?: JournalPayload): Promise<void>;
  /**
   * Appends a record whose payload is `parts` in order (a step's aggregated gradients), written
   * and checksummed off the main thread straight from the tensors' memory. The parts must stay
   * alive and unchanged until the promise settles.
   */
  appendParts(meta: JournalMeta, parts: JournalPart[]): Promise<void>;
}

/** Records nothing: no data dir, checkpoint-only mode, or a replay in progress. */
export const NO_JOURNAL: Journal = {
  maxPayloadBytes: Infinity,
  append: () => Promise.resolve(),
  appendParts: () => Promise.resolve(),
};
