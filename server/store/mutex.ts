// mutex.ts: a FIFO async lock. Every operation on one parameter runs under its lock, so a
// reader never sees a torn write and operations apply in arrival order.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn once every earlier holder has finished; errors propagate to the caller only. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
