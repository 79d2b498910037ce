// scraper.ts: the load an observed server carries in the --metrics modes of bench:transport and
// bench:train: Prometheus scraping /metrics and a person keeping the status page open (its
// script polls /status.json), both from this parent process. Every reply is read whole and
// checked; the counts are printed with the results.
import { performance } from 'node:perf_hooks';

export interface ScrapeLoad {
  /** Stops the timers, waits for requests in flight; what was fetched and how long it took. */
  stop(): Promise<{ scrapes: number; polls: number; bytes: number; medianMs: number }>;
}

export const SCRAPE_EVERY_MS = 5000;
export const POLL_EVERY_MS = 2000;

/** Starts scraping `${url}/metrics` every 5 s and polling `${url}/status.json` every 2 s. */
export function startScrapeLoad(url: string): ScrapeLoad {
  let scrapes = 0;
  let polls = 0;
  let bytes = 0;
  const times: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: Error | null = null;
  const get = (path: string, check: (text: string) => boolean, count: () => void): void => {
    const t0 = performance.now();
    const p = fetch(`${url}${path}`)
      .then(async (res) => {
        const text = await res.text();
        if (res.status !== 200 || !check(text)) throw new Error(`${path}: HTTP ${res.status}, ${text.slice(0, 200)}`);
        bytes += text.length;
        times.push(performance.now() - t0);
        count();
      })
      .catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const scrape = setInterval(
    () =>
      get(
        '/metrics',
        (t) => t.includes('grpc_server_handled_total'),
        () => scrapes++,
      ),
    SCRAPE_EVERY_MS,
  );
  const poll = setInterval(
    () =>
      get(
        '/status.json',
        (t) => t.startsWith('{"status":'),
        () => polls++,
      ),
    POLL_EVERY_MS,
  );
  return {
    async stop() {
      clearInterval(scrape);
      clearInterval(poll);
      await Promise.all([...inFlight]);
      if (failure !== null) throw failure;
      const sorted = [...times].sort((a, b) => a - b);
      return { scrapes, polls, bytes, medianMs: sorted[sorted.length >> 1] ?? Number.NaN };
    },
  };
}
