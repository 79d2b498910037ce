// gate.ts: a readers-writer gate. Every mutation of server state (a parameter write, a trainer
// push or step) runs shared; a checkpoint runs exclusive, so it snapshots a state no mutation is
// halfway through, and the journal position it records covers exactly what it saw. Waiting
// writers block new readers, so a checkpoint cannot starve.
export class RwGate {
  private readers = 0;
  private writer = false;
  private readonly waitingWriters: Array<() => void> = [];
  private readonly waitingReaders: Array<() => void> = [];

  async shared<T>(fn: () => Promise<T> | T): Promise<T> {
    // A waiter is admitted by wake(), which counts it before resolving, so no one slips between.
    if (this.writer || this.waitingWriters.length > 0) await new Promise<void>((r) => this.waitingReaders.push(r));
    else this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.writer || this.readers > 0) await new Promise<void>((r) => this.waitingWriters.push(r));
    else this.writer = true;
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }

  private wake(): void {
    if (this.writer) return;
    if (this.waitingWriters.length > 0) {
      if (this.readers === 0) {
        this.writer = true;
        this.waitingWriters.shift()!();
      }
      return;
    }
    while (this.waitingReaders.length > 0) {
      this.readers++;
      this.waitingReaders.shift()!();
    }
  }
}
