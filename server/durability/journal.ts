// journal.ts: what the store and trainers tell the durability layer. Each acknowledged
// mutation is appended as one record (JSON meta + optional tensor bytes) in the order it was
// applied; the caller awaits `durable` before acknowledging. During recovery records are
// replayed into the same store methods with the journal muted.
export type JournalMeta = { op: string } & Record<string, unknown>;

/**
 * A record's tensor bytes, or a function producing them: only a log that writes payloads calls
 * it, so a mode without one never makes a view of a freshly uploaded tensor (see
 * ParameterStore.setData: such a view costs the GC a full collection per large upload).
 */
export type JournalPayload = Uint8Array | (() => Uint8Array);

export interface Journal {
  /**
   * The largest payload one record can hold (Infinity when records are not written): a change
   * whose record would be larger is refused before anything changes.
   */
  readonly maxPayloadBytes: number;
  /** Appends a record; the promise resolves when it is as durable as the mode promises. */
  append(meta: JournalMeta, payload?: JournalPayload): Promise<void>;
}

/** Records nothing: no data dir, checkpoint-only mode, or a replay in progress. */
export const NO_JOURNAL: Journal = {
  maxPayloadBytes: Infinity,
  append: () => Promise.resolve(),
};
