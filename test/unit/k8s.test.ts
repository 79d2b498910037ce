// Checks deploy/k8s without a Kubernetes cluster: every file is parsed with a real YAML parser
// (`yaml`, duplicate keys refused), every object is validated against its kind's Kubernetes
// schema (`kubernetes-models`, generated from Kubernetes' OpenAPI), and the pieces are checked to
// agree with each other and with the server: the shard StatefulSet's serviceName is its headless
// Service, replicas is --num-shards, every flag is one the server accepts, ports, probes and the
// data volume are the ones its flags name, etcd's initial members are its pods, and the workers'
// etcd:// address is the etcd Service and the shards' cluster. The last tests break copies of the
// manifests and require each check to notice.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Service } from 'kubernetes-models/v1/Service';
import { parseCommandLine } from '../../server/config';
import { serverTarget } from '../../demo/worker';
import { demoWorkerFlags, flagValue, read, ROOT, serverFlags } from '../fixtures/deploy-files';

const DIR = 'deploy/k8s';

// --- loading and schema validation -------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML, checked below
type Doc = any;

/** The kinds deploy/k8s may hold, each with its schema's model. */
const MODELS: Record<string, { prototype: { validate(): void } }> = {
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
};

/** Every object of every manifest (not the kustomization), with the file it came from. */
function load(): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of readdirSync(path.join(ROOT, DIR)).sort()) {
    if (!/\.ya?ml$/.test(file) || file === 'kustomization.yaml') continue;
    for (const d of parseAllDocuments(read(`${DIR}/${file}`), { uniqueKeys: true })) {
      if ('errors' in d && d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc: Doc = d.toJS();
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

/**
 * Validates one object against its kind's schema, and refuses keys the schema does not name (a
 * misspelt field, which Kubernetes' schemas allow and the API server drops): the generated
 * validator reads every property its schema names, so a key it never read is unknown. Throws
 * naming the object and the problem.
 */
function validate(doc: Doc): void {
  const key = `${doc?.apiVersion}/${doc?.kind}`;
  const Model = MODELS[key];
  if (Model === undefined) throw new Error(`unexpected kind ${key} (known: ${Object.keys(MODELS).join(', ')})`);
  const read = new Map<object, Set<string>>();
  const watch = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const keys = read.get(v) ?? new Set<string>();
    read.set(v, keys);
    return new Proxy(v, {
      get: (t, k, r) => {
        if (typeof k === 'string') keys.add(k);
        return watch(Reflect.get(t, k, r));
      },
    });
  };
  const unknown: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}/${i}`));
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) {
        if (!read.get(v)?.has(k)) unknown.push(`${at}/${k}`);
        walk(x, `${at}/${k}`);
      }
  };
  try {
    Model.prototype.validate.call(watch(doc));
    walk(doc, 'data');
    if (unknown.length > 0) throw new Error(`fields its schema does not have: ${unknown.join(', ')}`);
  } catch (err) {
    throw new Error(`${key} ${doc.metadata?.name}: ${(err as Error).message}`);
  }
}

// --- the checks of agreement -----------------------------------------------------------------

class Mismatch extends Error {}
function must(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Mismatch(message);
}

const find = (docs: Doc[], kind: string, name: string): Doc => {
  const d = docs.find((x) => x.kind === kind && x.metadata?.name === name);
  must(d, `no ${kind} named ${name}`);
  return d;
};

/** Whether every label of `selector` is on `labels`. */
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * $(VAR) references in a container's args, as the kubelet expands them: every one must name a
 * variable of the container's env (the kubelet would leave an unknown one as it is); a variable
 * from a fieldRef takes its value from `fields` (the pod's, e.g. metadata.name), else `<VAR>`.
 */
function expandArgs(container: Doc, fields: Record<string, string> = {}): string[] {
  const value = (e: Doc): string => e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath] ?? `<${e.name}>`;
  const env = new Map<string, string>((container.env ?? []).map((e: Doc) => [e.name, value(e)] as [string, string]));
  return (container.args ?? []).map((a: string) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
      must(env.has(name), `container ${container.name}: $(${name}) in its args is not in its env`);
      return env.get(name)!;
    }),
  );
}

/** A container's named port. */
function port(container: Doc, name: string): number {
  const p = (container.ports ?? []).find((x: Doc) => x.name === name);
  must(p, `container ${container.name} has no port named ${name}`);
  return p.containerPort;
}

/** A Service port's target as a container port number. */
function target(container: Doc, svcPort: Doc): number {
  const t = svcPort.targetPort ?? svcPort.port;
  return typeof t === 'number' ? t : port(container, t);
}

/** The file a mounted path is, if it lies in one of the container's secret volumes. */
function secretOf(pod: Doc, container: Doc, file: string): string | undefined {
  for (const m of container.volumeMounts ?? []) {
    if (!file.startsWith(`${m.mountPath}/`)) continue;
    const v = (pod.volumes ?? []).find((x: Doc) => x.name === m.name);
    if (v?.secret) return `${v.secret.secretName}/${file.slice(m.mountPath.length + 1)}`;
  }
  return undefined;
}

interface Checked {
  cluster: string;
  etcd: string;
  shards: number;
}

/** The shard StatefulSet and its Service against each other and the server's flags. */
function checkShards(docs: Doc[], tokenFile: string): Checked {
  const sts = find(docs, 'StatefulSet', 'gluonps-shard');
  const spec = sts.spec;
  const svc = find(docs, 'Service', spec.serviceName);
  must(svc.spec.clusterIP === 'None', `Service ${svc.metadata.name} must be headless (clusterIP: None)`);
  must(svc.spec.publishNotReadyAddresses === true, 'the shards’ Service must publish shards that are not ready');
  const labels = spec.template.metadata.labels;
  must(selects(spec.selector?.matchLabels, labels), 'the StatefulSet’s selector does not select its pods');
  must(selects(svc.spec.selector, labels), `Service ${svc.metadata.name} does not select the shard pods`);
  must(spec.podManagementPolicy === 'Parallel', 'shards start in parallel');
  const pod = spec.template.spec;
  must(pod.containers.length === 1, 'one container per shard pod');
  const c = pod.containers[0];
  must(
    JSON.stringify(c.command) === JSON.stringify(['sh', 'tools/shard-entrypoint.sh']),
    'the shard container runs tools/shard-entrypoint.sh (the pod ordinal is its --shard-index)',
  );
  must(existsSync(path.join(ROOT, 'tools/shard-entrypoint.sh')), 'tools/shard-entrypoint.sh exists');

  // As the last pod sees them (gluonps-shard-2 in namespace ns).
  const last = spec.replicas - 1;
  const podName = `${sts.metadata.name}-${last}`;
  const args = expandArgs(c, { 'metadata.name': podName, 'metadata.namespace': 'ns' });
  for (const a of args.filter((x) => x.startsWith('--'))) must(serverFlags().has(a), `unknown server flag ${a}`);
  must(!args.includes('--shard-index'), 'the entrypoint gives --shard-index');
  // The server's own reading of its command line and environment, with the token file a real one.
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const tokens = env.GLUONPS_AUTH_TOKEN_FILE;
  must(tokens !== undefined, 'the shards need a token file (GLUONPS_AUTH_TOKEN_FILE)');
  must(secretOf(pod, c, tokens) !== undefined, `${tokens} is not in a mounted Secret`);
  const count = flagValue(args, '--num-shards');
  must(Number(count) === spec.replicas, `replicas ${spec.replicas} but --num-shards ${count}`);
  const { options } = parseCommandLine(['--shard-index', String(last), ...args], {
    ...env,
    GLUONPS_AUTH_TOKEN_FILE: tokenFile,
  });
  must(options.shard?.count === spec.replicas, `replicas ${spec.replicas} but --num-shards ${options.shard?.count}`);
  must(options.auth?.tokens?.length, 'the token file gives the server its tokens');
  must(options.host === '0.0.0.0', 'shards bind every interface');

  const grpcPort = port(c, 'grpc');
  must(options.port === grpcPort, `--port ${options.port} but the container port grpc is ${grpcPort}`);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    must(c[probe]?.grpc?.port === grpcPort, `${probe} must be a grpc probe of port ${grpcPort}`);
    must(c[probe].grpc.service === undefined || c[probe].grpc.service === '', `${probe} asks the overall health`);
  }
  const svcGrpc = (svc.spec.ports ?? []).find((p: Doc) => p.name === 'grpc');
  must(svcGrpc && target(c, svcGrpc) === grpcPort, `Service ${svc.metadata.name} must route grpc to ${grpcPort}`);
  must(options.metricsPort === port(c, 'metrics'), '--metrics-port is the container port metrics');

  const advertise = flagValue(args, '--advertise');
  must(
    advertise === `${podName}.${svc.metadata.name}.ns.svc:${grpcPort}`,
    `--advertise ${advertise}: expected the pod's name on Service ${svc.metadata.name}, port ${grpcPort}`,
  );
  must(options.etcd?.advertise === advertise, 'the server registers the --advertise address');
  must(
    (c.env ?? []).find((e: Doc) => e.name === 'GLUONPS_POD_NAME')?.valueFrom?.fieldRef?.fieldPath === 'metadata.name',
    'GLUONPS_POD_NAME is the pod’s name (the entrypoint and --advertise use it)',
  );

  const claims = (spec.volumeClaimTemplates ?? []).map((t: Doc) => t.metadata.name);
  const dataMount = (c.volumeMounts ?? []).find((m: Doc) => m.mountPath === options.dataDir);
  must(dataMount, `no volume mounted at --data-dir ${options.dataDir}`);
  must(claims.includes(dataMount.name), `--data-dir ${options.dataDir} must be a volumeClaimTemplate's volume`);

  const r = c.resources ?? {};
  must(r.limits?.memory, 'a memory limit (the server’s memory budget is 80% of it)');
  must(r.requests?.memory === r.limits.memory, 'memory requests equal limits');
  must(pod.securityContext?.runAsUser === 1000 && pod.securityContext?.fsGroup === 1000, 'the image’s user node');
  return { cluster: options.shard!.cluster!, etcd: flagValue(args, '--etcd')!, shards: spec.replicas };
}

/** etcd: its Services, and initial members that are exactly its pods by their peer names. */
function checkEtcd(docs: Doc[]): { url: string } {
  const sts = find(docs, 'StatefulSet', 'gluonps-etcd');
  const spec = sts.spec;
  const peer = find(docs, 'Service', spec.serviceName);
  must(
    peer.spec.clusterIP === 'None' && peer.spec.publishNotReadyAddresses === true,
    'etcd peers: headless, published',
  );
  must(spec.podManagementPolicy === 'Parallel', 'etcd members must start in parallel (each waits for a quorum)');
  const labels = spec.template.metadata.labels;
  must(selects(spec.selector?.matchLabels, labels), 'the etcd selector does not select its pods');
  const client = find(docs, 'Service', 'gluonps-etcd');
  must(selects(client.spec.selector, labels) && selects(peer.spec.selector, labels), 'the etcd Services select etcd');
  const c = spec.template.spec.containers[0];
  // As member 1 sees them, in namespace ns.
  const args = expandArgs(c, { 'metadata.name': `${sts.metadata.name}-1`, 'metadata.namespace': 'ns' });
  const flag = (name: string): string => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    must(a, `etcd: no --${name}`);
    return a.slice(name.length + 3);
  };
  must(flag('name') === `${sts.metadata.name}-1`, 'each member is named after its pod');
  const peerName = (i: number): string => `${sts.metadata.name}-${i}.${peer.metadata.name}.ns.svc`;
  const peerUrl = (i: number): string => `http://${peerName(i)}:${port(c, 'peer')}`;
  const expected = Array.from({ length: spec.replicas }, (_, i) => `${sts.metadata.name}-${i}=${peerUrl(i)}`);
  must(
    flag('initial-cluster') === expected.join(','),
    `--initial-cluster must list the ${spec.replicas} pods: ${expected.join(',')}`,
  );
  must(flag('initial-advertise-peer-urls') === peerUrl(1), 'a member advertises its own peer name');
  const clientPort = port(c, 'client');
  must(new URL(flag('listen-client-urls')).port === String(clientPort), 'etcd listens on its client port');
  must(
    flag('advertise-client-urls') === `http://${peerName(1)}:${clientPort}`,
    'a member advertises its own name to clients',
  );
  const svcPort = (client.spec.ports ?? []).find((p: Doc) => target(c, p) === clientPort);
  must(svcPort, `Service gluonps-etcd must route to the client port ${clientPort}`);
  // The image's user (deploy/etcd/Dockerfile) is the one the pod runs as.
  const user = /^USER (\d+)$/m.exec(read('deploy/etcd/Dockerfile'))?.[1];
  must(String(spec.template.spec.securityContext?.runAsUser) === user, `etcd runs as the image's uid ${user}`);
  return { url: `http://${client.metadata.name}:${svcPort.port}` };
}

/** The worker Job: the demo's flags, through etcd to the shards' cluster, as many pods as workers. */
function checkWorkers(docs: Doc[], shards: Checked, etcdUrl: string, shardSecret: string | undefined): void {
  const job = find(docs, 'Job', 'gluonps-demo');
  const c = job.spec.template.spec.containers[0];
  must(
    JSON.stringify(c.command) === JSON.stringify(['npm', 'run', 'demo', '--']),
    'the worker runs `npm run demo -- ...`',
  );
  const args = expandArgs(c, { "metadata.annotations['batch.kubernetes.io/job-completion-index']": '1' });
  must(args[0] === 'worker', 'the demo’s worker command');
  const flags = demoWorkerFlags();
  for (const a of args.filter((x) => x.startsWith('--'))) must(flags.has(a), `unknown demo worker flag ${a}`);
  const server = flagValue(args, '--server')!;
  must(
    serverTarget(server) === `etcd://${new URL(etcdUrl).host}/${shards.cluster}`,
    `--server ${server}: expected etcd://${new URL(etcdUrl).host}/${shards.cluster}`,
  );
  must(shards.etcd === etcdUrl, `the shards' --etcd ${shards.etcd} is not the etcd Service ${etcdUrl}`);
  const workers = Number(flagValue(args, '--workers'));
  must(
    job.spec.completions === workers && job.spec.parallelism === workers,
    `--workers ${workers}: completions and parallelism must be ${workers}`,
  );
  must(job.spec.completionMode === 'Indexed', 'an Indexed Job: the completion index is the worker id');
  must(flagValue(args, '--worker-id') === '1', '--worker-id is the completion index (WORKER_ID)');
  const tokenFile = (c.env ?? []).find((e: Doc) => e.name === 'GLUONPS_TOKEN_FILE')?.value;
  must(tokenFile, 'the workers send a token (GLUONPS_TOKEN_FILE)');
  const secret = secretOf(job.spec.template.spec, c, tokenFile);
  must(secret === shardSecret, `the workers' token file ${tokenFile} is ${secret}, the shards' ${shardSecret}`);
}

/** Every check together. */
function checkAll(docs: Doc[], tokenFile: string): void {
  for (const d of docs) validate(d);
  const shards = checkShards(docs, tokenFile);
  const { url } = checkEtcd(docs);
  const sts = find(docs, 'StatefulSet', 'gluonps-shard');
  const c = sts.spec.template.spec.containers[0];
  const file = c.env.find((e: Doc) => e.name === 'GLUONPS_AUTH_TOKEN_FILE').value;
  checkWorkers(docs, shards, url, secretOf(sts.spec.template.spec, c, file));
}

// --- tests -------------------------------------------------------------------------------------

const scratch = mkdtempSync(path.join(tmpdir(), 'gluonps-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tokenFile = path.join(scratch, 'tokens');
writeFileSync(tokenFile, 'a-token-for-the-test\n');

describe('deploy/k8s', () => {
  const loaded = load();
  const docs = loaded.map((l) => l.doc);

  it('every object parses and validates against its kind’s Kubernetes schema', () => {
    expect(loaded.map((l) => `${l.file}: ${l.doc.kind} ${l.doc.metadata.name}`)).toEqual([
      'etcd.yaml: Service gluonps-etcd',
      'etcd.yaml: Service gluonps-etcd-peer',
      'etcd.yaml: StatefulSet gluonps-etcd',
      'shards.yaml: Service gluonps-shard',
      'shards.yaml: StatefulSet gluonps-shard',
      'worker-job.yaml: Job gluonps-demo',
    ]);
    for (const d of docs) validate(d);
  });

  it('the shards: headless Service, replicas = --num-shards, flags, ports, probes and data volume agree', () => {
    const c = checkShards(docs, tokenFile);
    expect(c).toEqual({ cluster: 'gluonps', etcd: 'http://gluonps-etcd:2379', shards: 3 });
  });

  it('etcd: its initial members are its pods, its Services select it, it runs as the image’s user', () => {
    expect(checkEtcd(docs)).toEqual({ url: 'http://gluonps-etcd:2379' });
  });

  it('the worker Job: the demo through etcd to the shards’ cluster, one pod per worker, the shards’ token', () => {
    expect(() => checkAll(docs, tokenFile)).not.toThrow();
  });

  it('the kustomization lists files that exist, and names the images the manifests use', () => {
    const k = parseYaml(read(`${DIR}/kustomization.yaml`), { uniqueKeys: true }) as {
      resources: string[];
      images: { name: string }[];
    };
    for (const r of k.resources) expect(existsSync(path.join(ROOT, DIR, r)), r).toBe(true);
    const inResources = loaded.filter((l) => k.resources.includes(l.file)).map((l) => l.doc);
    const images = new Set(
      inResources.flatMap((d) => (d.spec.template?.spec.containers ?? []).map((c: Doc) => c.image.split(':')[0])),
    );
    expect([...images].sort()).toEqual(k.images.map((i) => i.name).sort());
  });
});

describe('tools/shard-entrypoint.sh', () => {
  // A stand-in `npm` first on the PATH that prints its arguments.
  const bin = path.join(scratch, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(path.join(bin, 'npm'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  chmodSync(path.join(bin, 'npm'), 0o755);
  const run = (env: Record<string, string>, args: string[]) =>
    spawnSync('sh', [path.join(ROOT, 'tools/shard-entrypoint.sh'), ...args], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...env },
      encoding: 'utf8',
    });

  it('runs `npm start` with the pod ordinal as --shard-index, then the flags it was given', () => {
    const r = run({ GLUONPS_POD_NAME: 'gluonps-shard-12' }, ['--num-shards', '16', '--cluster', 'a b']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, -1)).toEqual([
      'start',
      '--',
      '--shard-index',
      '12',
      '--num-shards',
      '16',
      '--cluster',
      'a b',
    ]);
  });

  it('refuses a pod name without an ordinal, naming it', () => {
    for (const name of ['gluonps-shard', 'gluonps-shard-', 'shard-1x']) {
      const r = run({ GLUONPS_POD_NAME: name }, []);
      expect(r.status, name).toBe(2);
      expect(r.stderr).toContain(`'${name}'`);
    }
  });
});

describe('the checks catch broken manifests', () => {
  const fresh = (): Doc[] => load().map((l) => l.doc);
  const broken = (edit: (docs: Doc[]) => void): Doc[] => {
    const docs = fresh();
    edit(docs);
    return docs;
  };
  const shardSts = (docs: Doc[]): Doc => find(docs, 'StatefulSet', 'gluonps-shard');
  const shardC = (docs: Doc[]): Doc => shardSts(docs).spec.template.spec.containers[0];
  const setArg = (docs: Doc[], flag: string, value: string): void => {
    const args: string[] = shardC(docs).args;
    args[args.indexOf(flag) + 1] = value;
  };

  it('schema: a missing selector, replicas as text, a probe port by name, an unknown kind, misspelt fields', () => {
    const cases: [string, (d: Doc[]) => void][] = [
      ['selector', (d) => delete shardSts(d).spec.selector],
      ['replicas', (d) => (shardSts(d).spec.replicas = 'three')],
      ['port', (d) => (shardC(d).readinessProbe.grpc.port = 'grpc')],
      ['containers', (d) => delete shardSts(d).spec.template.spec.containers],
      ['unexpected kind', (d) => (shardSts(d).apiVersion = 'apps/v1beta9')],
      ['data/spec/replica', (d) => (shardSts(d).spec.replica = shardSts(d).spec.replicas)],
      ['data/spec/template/spec/containers/0/readinesProbe', (d) => (shardC(d).readinesProbe = {})],
      [
        'data/spec/volumeClaimTemplates/0/spec/resources/request',
        (d) => {
          const r = shardSts(d).spec.volumeClaimTemplates[0].spec.resources;
          r.request = r.requests;
        },
      ],
    ];
    for (const [what, edit] of cases) expect(() => checkAll(broken(edit), tokenFile), what).toThrow(what);
  });

  it('agreement: serviceName, replicas, flags, ports, probes, volumes, etcd members, workers', () => {
    const cases: [RegExp, (d: Doc[]) => void][] = [
      [/no Service named gluonps-shards/, (d) => (shardSts(d).spec.serviceName = 'gluonps-shards')],
      [/replicas 4 but --num-shards 3/, (d) => (shardSts(d).spec.replicas = 4)],
      [
        /unknown server flag --num-shard/,
        (d) => (shardC(d).args[shardC(d).args.indexOf('--num-shards')] = '--num-shard'),
      ],
      [/--port 50052 but the container port grpc is 50051/, (d) => setArg(d, '--port', '50052')],
      [/livenessProbe must be a grpc probe of port 50051/, (d) => (shardC(d).livenessProbe.grpc.port = 50052)],
      [/no volume mounted at --data-dir \/var\/data/, (d) => setArg(d, '--data-dir', '/var/data')],
      [
        /\$\(POD_NAMESPCE\)/,
        (d) => setArg(d, '--advertise', '$(GLUONPS_POD_NAME).gluonps-shard.$(POD_NAMESPCE).svc:50051'),
      ],
      [/--advertise .*expected/, (d) => setArg(d, '--advertise', '$(GLUONPS_POD_NAME):50051')],
      [/headless/, (d) => delete find(d, 'Service', 'gluonps-shard').spec.clusterIP],
      [/--initial-cluster must list the 5 pods/, (d) => (find(d, 'StatefulSet', 'gluonps-etcd').spec.replicas = 5)],
      [/--workers 2: completions/, (d) => (find(d, 'Job', 'gluonps-demo').spec.parallelism = 1)],
      [
        /--worker-id is the completion index/,
        (d) =>
          (find(d, 'Job', 'gluonps-demo').spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath =
            'metadata.name'),
      ],
      [
        /a member advertises its own peer name/,
        (d) => {
          const args: string[] = find(d, 'StatefulSet', 'gluonps-etcd').spec.template.spec.containers[0].args;
          const i = args.findIndex((a) => a.startsWith('--initial-advertise-peer-urls='));
          args[i] = '--initial-advertise-peer-urls=http://$(POD_NAME):2380';
        },
      ],
      [/--server etcd:\/\/gluonps-etcd:2379\/gluonps: expected/, (d) => setArg(d, '--cluster', 'other')],
      [/is not the etcd Service/, (d) => setArg(d, '--etcd', 'http://etcd:2379')],
      [/memory requests equal limits/, (d) => (shardC(d).resources.requests.memory = '1Gi')],
    ];
    for (const [message, edit] of cases) {
      const docs = broken(edit);
      expect(() => checkAll(docs, tokenFile), String(message)).toThrow(message);
    }
  });
});
