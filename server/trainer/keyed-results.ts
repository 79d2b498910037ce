// keyed-results.ts: the results of a trainer's keyed calls, for answering retries once. A key is
// (worker, incarnation, sequence); a slot is one worker incarnation's table of results. Each
// worker keeps its latest KEEP_INCARNATIONS slots and each slot its latest KEEP_RESULTS
// results, so the tables are bounded by the trainer's workers. A slot is made only for a call
// that passed its worker check (an out-of-range or departed worker id leaves nothing behind),
// and dropping a worker's old incarnations looks at that worker's slots only, never at all.

/** How many keyed results a worker incarnation keeps for retries. */
export const KEEP_RESULTS = 1024;
/** How many incarnations of one worker keep their results. */
export const KEEP_INCARNATIONS = 4;

export interface SlotKey {
  workerId: number;
  incarnation: number;
  sequence: number;
}

export const slotOf = (key: SlotKey): string => `${key.workerId}:${key.incarnation}`;

export class KeyedResults {
  /** In-flight and settled calls by slot, then sequence. Failed calls are forgotten. */
  readonly results = new Map<string, Map<number, Promise<unknown>>>();
  /** Settled values by slot and sequence, kept to be written into checkpoints. */
  readonly settled = new Map<string, Map<number, unknown>>();
  /** Each worker's slots, oldest first. */
  private readonly byWorker = new Map<number, string[]>();
  /** Called when a call is answered from an earlier call with its key (a retry): the metrics count it. */
  onHit: () => void = () => undefined;

  /**
   * Runs fn once per key: a retry with the same key gets the first call's promise. `check`
   * runs first for a key not seen before and may throw (bad worker id): nothing is kept then.
   */
  run<T>(key: SlotKey, check: () => void, fn: () => Promise<T>): Promise<T> {
    const slot = slotOf(key);
    const hit = this.results.get(slot)?.get(key.sequence);
    if (hit) {
      this.onHit();
      return hit as Promise<T>;
    }
    check();
    const table = this.table(key);
    const p = fn();
    table.set(key.sequence, p);
    p.then(
      (value) => {
        let done = this.settled.get(slot);
        if (!done) this.settled.set(slot, (done = new Map()));
        done.set(key.sequence, value);
        if (done.size > KEEP_RESULTS) done.delete(done.keys().next().value as number);
      },
      () => {
        table.delete(key.sequence);
        // A slot whose only calls failed is not kept.
        if (table.size === 0 && !this.settled.has(slot) && this.results.get(slot) === table)
          this.drop(key.workerId, slot);
      },
    );
    if (table.size > KEEP_RESULTS) {
      for (const seq of table.keys()) {
        if (seq < key.sequence - KEEP_RESULTS) table.delete(seq);
      }
    }
    return p;
  }

  /** The key's slot table, made (and the worker's oldest incarnations dropped) if new. */
  table(key: SlotKey): Map<number, Promise<unknown>> {
    const slot = slotOf(key);
    let table = this.results.get(slot);
    if (table) return table;
    table = new Map();
    this.results.set(slot, table);
    let mine = this.byWorker.get(key.workerId);
    if (!mine) this.byWorker.set(key.workerId, (mine = []));
    mine.push(slot);
    // Restarted workers never resend an old incarnation's calls for long.
    while (mine.length > KEEP_INCARNATIONS) {
      const old = mine.shift()!;
      this.results.delete(old);
      this.settled.delete(old);
    }
    return table;
  }

  /** A settled result read back from a checkpoint. */
  restore(key: SlotKey, value: unknown): void {
    this.table(key).set(key.sequence, Promise.resolve(value));
    const slot = slotOf(key);
    let done = this.settled.get(slot);
    if (!done) this.settled.set(slot, (done = new Map()));
    done.set(key.sequence, value);
  }

  private drop(workerId: number, slot: string): void {
    this.results.delete(slot);
    this.settled.delete(slot);
    const mine = this.byWorker.get(workerId);
    const i = mine?.indexOf(slot) ?? -1;
    if (i >= 0) mine!.splice(i, 1);
    if (mine?.length === 0) this.byWorker.delete(workerId);
  }
}
