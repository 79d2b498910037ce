// bench:cluster's pure parts (bench/cluster-plan.ts): its flags, the namespace plan (every host
// gets a namespace, a veth pair to the bridge, a private address and a tbf each way; nothing is
// created in the caller's namespace), the teardown list (every namespace the setup adds, the
// bridge's last), which leftovers of killed runs are removed, the link-bound step and the
// drops read from `tc -s`.
import { describe, expect, it } from 'vitest';
import {
  linkBoundStepMs,
  netPlan,
  parseClusterArgs,
  staleNamespaces,
  tbfBurstBytes,
  tcDrops,
} from '../../bench/cluster-plan';

describe('bench:cluster arguments', () => {
  it('defaults: 400 Mbit/s, 4 workers, K = 1, 2, 4, a 64 MiB model in 4 tensors', () => {
    const a = parseClusterArgs([]);
    expect(a).toMatchObject({ linkMbit: 400, workers: 4, shards: [1, 2, 4], params: 16 * 1024 * 1024, tensors: 4 });
    expect(a).toMatchObject({ skipNetns: false, skipLoopback: false, check: false, deadlineS: null });
  });

  it('reads every flag', () => {
    const a = parseClusterArgs(
      '--link-mbit 100 --workers 2 --shards 1,3 --rounds 3 --warmup 0 --loopback-rounds 4 --params 1024 --tensors 8 --skip-loopback --check --deadline 60'.split(
        ' ',
      ),
    );
    expect(a).toEqual({
      linkMbit: 100,
      workers: 2,
      shards: [1, 3],
      rounds: 3,
      warmup: 0,
      loopbackRounds: 4,
      params: 1024,
      tensors: 8,
      skipNetns: false,
      skipLoopback: true,
      check: true,
      deadlineS: 60,
    });
  });

  it('refuses bad values, naming the flag and what it got', () => {
    expect(() => parseClusterArgs(['--link-mbit', '0'])).toThrow(/--link-mbit must be an integer >= 1, got 0/);
    expect(() => parseClusterArgs(['--shards', '1,0'])).toThrow(/--shards must be distinct integers .* got 1,0/);
    expect(() => parseClusterArgs(['--shards', '2,2'])).toThrow(/--shards/);
    expect(() => parseClusterArgs(['--workers', '65'])).toThrow(/--workers must be at most 64, got 65/);
    expect(() => parseClusterArgs(['--params', '10', '--tensors', '4'])).toThrow(/multiple of --tensors/);
    expect(() => parseClusterArgs(['--skip-netns', '--skip-loopback'])).toThrow(/nothing to measure/);
    expect(() => parseClusterArgs(['--rounds'])).toThrow(/--rounds needs a value/);
    expect(() => parseClusterArgs(['--link', '100'])).toThrow(/unknown argument '--link'/);
  });
});

describe('bench:cluster network plan', () => {
  const plan = netPlan({ pid: 4242, workers: 4, shards: 2, linkMbit: 400 });

  it('one namespace per host and one for the bridge, named by the run', () => {
    expect(plan.bridgeNs).toBe('gpsbench-4242-br');
    expect(plan.workers.map((h) => h.ns)).toEqual([0, 1, 2, 3].map((i) => `gpsbench-4242-w${i}`));
    expect(plan.shards.map((h) => h.ns)).toEqual(['gpsbench-4242-s0', 'gpsbench-4242-s1']);
    expect(plan.workers.map((h) => h.address)).toEqual(['10.253.0.10', '10.253.0.11', '10.253.0.12', '10.253.0.13']);
    expect(plan.shards.map((h) => h.address)).toEqual(['10.253.0.100', '10.253.0.101']);
    const adds = plan.setup.filter((c) => c[1] === 'netns' && c[2] === 'add').map((c) => c[3]);
    expect(adds).toEqual([plan.bridgeNs, ...plan.workers.map((h) => h.ns), ...plan.shards.map((h) => h.ns)]);
  });

  it("every command runs inside a namespace of the run: nothing in the caller's", () => {
    const ours = new Set([plan.bridgeNs, ...plan.workers.map((h) => h.ns), ...plan.shards.map((h) => h.ns)]);
    for (const c of plan.setup) {
      expect(['ip', 'tc']).toContain(c[0]);
      if (c[1] === 'netns') expect(ours.has(c[3]!)).toBe(true);
      else {
        expect(c[1]).toBe('-n');
        expect(ours.has(c[2]!)).toBe(true);
      }
    }
  });

  it('each host: a veth pair to the bridge, its address, and its link limited both ways', () => {
    for (const h of [...plan.workers, ...plan.shards]) {
      const has = (argv: string[]): boolean => plan.setup.some((c) => c.join(' ') === argv.join(' '));
      expect(
        has(['ip', '-n', h.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', h.port, 'netns', plan.bridgeNs]),
      ).toBe(true);
      expect(has(['ip', '-n', plan.bridgeNs, 'link', 'set', h.port, 'master', 'br0'])).toBe(true);
      expect(has(['ip', '-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0'])).toBe(true);
      const limits = plan.setup.filter((c) => c[0] === 'tc' && (c[2] === h.ns ? c[6] === 'eth0' : c[6] === h.port));
      expect(limits.map((c) => c[2])).toEqual([h.ns, plan.bridgeNs]);
      for (const c of limits)
        expect(c.slice(7, 14)).toEqual(['root', 'tbf', 'rate', '400mbit', 'burst', '262144', 'latency']);
    }
  });

  it('teardown deletes every namespace the setup adds, the bridge last', () => {
    const added = plan.setup.filter((c) => c[1] === 'netns' && c[2] === 'add').map((c) => c[3]!);
    const deleted = plan.teardown.map((c) => {
      expect(c.slice(0, 3)).toEqual(['ip', 'netns', 'del']);
      return c[3]!;
    });
    expect([...deleted].sort()).toEqual([...added].sort());
    expect(deleted.at(-1)).toBe(plan.bridgeNs);
  });

  it('the tbf bucket holds a whole GSO packet, and 4 ms of a fast link', () => {
    expect(tbfBurstBytes(400)).toBe(262144);
    expect(tbfBurstBytes(10_000)).toBe(5_000_000);
  });
});

describe('bench:cluster leftovers and link bound', () => {
  it("removes only this benchmark's namespaces whose run is gone", () => {
    const list = [
      'gpsbench-100-br (id: 3)',
      'gpsbench-100-w0 (id: 4)',
      'gpsbench-100-s12',
      'gpsbench-200-w1',
      'gpsbench-300-x1',
      'gpsbench-abc-w0',
      'blue',
      '',
    ].join('\n');
    expect(staleNamespaces(list, (pid) => pid === 200)).toEqual([
      'gpsbench-100-br',
      'gpsbench-100-w0',
      'gpsbench-100-s12',
    ]);
  });

  it('the shards carry W times the model at K = 1, each worker link the model at K = W', () => {
    const mib64 = 64 * 1024 * 1024;
    // 2 phases x 4 x 64 MiB over 400 Mbit/s.
    expect(linkBoundStepMs(mib64, 4, 1, 400)).toBeCloseTo((2 * 4 * mib64 * 8) / 400e3, 6);
    expect(linkBoundStepMs(mib64, 4, 4, 400) / linkBoundStepMs(mib64, 4, 1, 400)).toBeCloseTo(0.25, 9);
    expect(linkBoundStepMs(mib64, 4, 8, 400)).toBe(linkBoundStepMs(mib64, 4, 4, 400));
  });
});

describe('bench:cluster tbf statistics', () => {
  it('sums the drops of every qdisc in `tc -s qdisc show` output', () => {
    const out = [
      'qdisc tbf 8001: root refcnt 3 rate 400Mbit burst 262100b lat 25ms ',
      ' Sent 70890812 bytes 4120 pkt (dropped 17, overlimits 9210 requeues 0) ',
      ' backlog 0b 0p requeues 0',
      'qdisc noqueue 0: dev lo root refcnt 2 ',
      ' Sent 0 bytes 0 pkt (dropped 3, overlimits 0 requeues 0) ',
    ].join('\n');
    expect(tcDrops(out)).toBe(20);
    expect(tcDrops('')).toBe(0);
  });
});
