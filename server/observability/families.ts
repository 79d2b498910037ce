// families.ts: metric families whose hot path is a number in a plain object. prom-client's own
// Counter/Histogram hash the label set and allocate a result object on every inc()/observe(),
// even through labels(); here a child is made once per label set (a method, a trainer) and an
// increment is `child.value += n`. Each family hands prom-client's Registry the documented
// `get()` shape at scrape time, so prom-client still writes the exposition format (and runs the
// process metrics beside these).
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

/** What prom-client's Registry reads from a metric: `get()` at scrape time, name and type. */
interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: 'sum';
    values: Array<{ value: number; labels: Labels; metricName?: string }>;
  }>;
}

abstract class Family<C> implements Exported {
  protected readonly children = new Map<string, { labels: Labels; child: C }>();
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  register(registry: Registry): this {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
    return this;
  }

  /** The child for these label values (in labelNames order), made on first use. Not for hot paths. */
  child(...values: string[]): C {
    if (values.length !== this.labelNames.length)
      throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    let hit = this.children.get(key);
    if (hit === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      hit = { labels, child: this.make() };
      this.children.set(key, hit);
    }
    return hit.child;
  }

  /** Forgets a child (a trainer that no longer exists). */
  remove(...values: string[]): void {
    this.children.delete(values.join('\u0000'));
  }

  protected abstract make(): C;
  protected abstract values(): Array<{ value: number; labels: Labels; metricName?: string }>;

  get(): ReturnType<Exported['get']> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    });
  }
}

export interface Value {
  value: number;
}

/** A counter (only ever grows) or a gauge (set at scrape time or moved both ways). */
export class ValueFamily extends Family<Value> {
  constructor(
    readonly type: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly string[] = [],
  ) {
    super(name, help, labelNames);
  }

  protected make(): Value {
    return { value: 0 };
  }

  /** Sets a child's value (scrape-time families). */
  set(value: number, ...labels: string[]): void {
    this.child(...labels).value = value;
  }

  /** Drops every child (a scrape-time family rebuilt from the current state). */
  clear(): void {
    this.children.clear();
  }

  protected values(): Array<{ value: number; labels: Labels }> {
    const out = [];
    for (const { labels, child } of this.children.values()) out.push({ value: child.value, labels });
    return out;
  }
}

/** Prometheus's default buckets (client_golang DefBuckets), as go-grpc-prometheus uses. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HistogramChild {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramChild> {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {
    super(name, help, labelNames);
  }

  protected make(): HistogramChild {
    return new HistogramChild(this.buckets);
  }

  protected values(): Array<{ value: number; labels: Labels; metricName: string }> {
    const out = [];
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += child.counts[i]!;
        const le = i < this.buckets.length ? String(this.buckets[i]) : '+Inf';
        out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
      }
      out.push({ value: child.sum, labels, metricName: `${this.name}_sum` });
      out.push({ value: child.count, labels, metricName: `${this.name}_count` });
    }
    return out;
  }
}
