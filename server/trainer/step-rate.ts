// step-rate.ts: when a trainer's last steps were applied, for its step rate in GetStatus and on
// the status page. A fixed ring of timestamps: recording a step costs one store, and memory does
// not grow with the number of steps.
export const STEP_RATE_WINDOW_MS = 60_000;
const KEPT = 1024;

export class StepRate {
  private readonly times = new Float64Array(KEPT);
  private count = 0;

  /** A step was applied now. */
  record(now = Date.now()): void {
    this.times[this.count % KEPT] = now;
    this.count++;
  }

  /** When the last step was applied; null when none was since the server started. */
  get lastAt(): number | null {
    return this.count === 0 ? null : this.times[(this.count - 1) % KEPT]!;
  }

  /**
   * Steps in the last `windowMs` (at most the 1024 kept), and their rate: the steps after the
   * first one in the window over the time from it to now (so a stalled trainer's rate falls);
   * 0 with fewer than two.
   */
  recent(now = Date.now(), windowMs = STEP_RATE_WINDOW_MS): { steps: number; perSecond: number } {
    let steps = 0;
    let first = 0;
    for (let i = this.count - 1; i >= Math.max(0, this.count - KEPT); i--) {
      const t = this.times[i % KEPT]!;
      if (t < now - windowMs) break;
      steps++;
      first = t;
    }
    const perSecond = steps >= 2 && now > first ? ((steps - 1) * 1000) / (now - first) : 0;
    return { steps, perSecond };
  }
}
