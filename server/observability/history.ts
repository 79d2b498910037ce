// history.ts: the last minutes of the status page's charts. Every intervalMs it reads the
// metrics' running totals (calls, tensor bytes, each trainer's steps and their summed latency)
// and keeps the rates over the interval in a ring; the page draws them. Reading totals costs
// nothing on the hot path, and the ring is bounded (keep points).
import type { ServerMetrics } from './metrics';

export interface HistoryPoint {
  /** End of the interval, ms since the epoch. */
  t: number;
  callsPerSecond: number;
  /** Tensor bytes per second received from clients (pushes, uploads). */
  pushedBytesPerSecond: number;
  /** Tensor bytes per second sent to clients (pulls). */
  pulledBytesPerSecond: number;
  /** Per trainer that stepped in the interval: its step rate and mean step latency. */
  trainers: Record<string, { stepsPerSecond: number; stepMs: number }>;
}

export interface History {
  intervalMs: number;
  points: HistoryPoint[];
}

interface Totals {
  t: number;
  calls: number;
  bytesIn: number;
  bytesOut: number;
  steps: Map<string, { steps: number; seconds: number }>;
}

export class MetricsHistory {
  private readonly ring: HistoryPoint[] = [];
  private last: Totals;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly metrics: ServerMetrics,
    readonly intervalMs = 2000,
    /** Points kept: 150 x 2 s = the last 5 minutes. */
    private readonly keep = 150,
  ) {
    this.last = this.totals();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private totals(): Totals {
    return { t: Date.now(), ...this.metrics.grpc.totals(), steps: this.metrics.trainerSteps() };
  }

  /** Adds the point for the interval since the last sample (also called by tests). */
  sample(): void {
    const now = this.totals();
    const dt = (now.t - this.last.t) / 1000;
    if (dt <= 0) return;
    const trainers: HistoryPoint['trainers'] = {};
    for (const [name, cur] of now.steps) {
      const prev = this.last.steps.get(name) ?? { steps: 0, seconds: 0 };
      const steps = cur.steps - prev.steps;
      if (steps > 0)
        trainers[name] = { stepsPerSecond: steps / dt, stepMs: ((cur.seconds - prev.seconds) / steps) * 1000 };
    }
    this.ring.push({
      t: now.t,
      callsPerSecond: (now.calls - this.last.calls) / dt,
      pushedBytesPerSecond: (now.bytesIn - this.last.bytesIn) / dt,
      pulledBytesPerSecond: (now.bytesOut - this.last.bytesOut) / dt,
      trainers,
    });
    if (this.ring.length > this.keep) this.ring.shift();
    this.last = now;
  }

  snapshot(): History {
    return { intervalMs: this.intervalMs, points: [...this.ring] };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
