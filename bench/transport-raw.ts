// Prints the transport baselines of bench/transport-baselines.ts as a table of medians and a
// JSON line: raw grpc-js (identity serializers, windows raised by server/rpc/transport.ts)
// and a raw TCP socket, 64 MiB each way between two processes, plus the raw small-call rate.
// Both ends of every measurement run in child processes under plain node (bundled), see
// bench/child-process.ts. `--sweep` adds the evidence behind the settings: grpc-js default
// windows, one end raised, window sizes, reused receive buffers, and the tsx runtime.
// `--runs N` sets the timed runs per figure (default 7). Every run stops by itself.
import { runIsolated, type RawGrpcOptions, type RawGrpcResult } from './transport-baselines';
import { median } from './measure';

const MiB = 1 << 20;
const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 7;
const sweep = args.includes('--sweep');
const sizeBytes = 64 * MiB;

const rows: [string, string][] = [];
const fmt = (xs: number[], digits = 2): string => (xs.length === 0 ? '-' : median(xs).toFixed(digits));

function addGrpcRows(label: string, r: RawGrpcResult): void {
  rows.push([`${label}: pull stream GB/s`, fmt(r.pullStreamGbps)]);
  rows.push([`${label}: push stream GB/s`, fmt(r.pushStreamGbps)]);
  if (r.pullUnaryGbps.length > 0) rows.push([`${label}: pull unary GB/s`, fmt(r.pullUnaryGbps)]);
  if (r.pushUnaryGbps.length > 0) rows.push([`${label}: push unary GB/s`, fmt(r.pushUnaryGbps)]);
  if (r.smallPerS.length > 0) rows.push([`${label}: 4 KiB unary calls/s, 64 in flight`, fmt(r.smallPerS, 0)]);
  if (r.smallStreamPerS.length > 0)
    rows.push([`${label}: 4 KiB server-stream calls/s, 64 in flight`, fmt(r.smallStreamPerS, 0)]);
}

const tuned = await runIsolated('grpc', { sizeBytes, runs, unary: true });
addGrpcRows('raw grpc-js tuned', tuned);
const socket = await runIsolated('socket', { sizeBytes, runs });
rows.push(['raw socket: pull GB/s', fmt(socket.pullGbps)]);
rows.push(['raw socket: push GB/s', fmt(socket.pushGbps)]);

if (sweep) {
  const reusedSocket = await runIsolated('socket', { sizeBytes, runs, fresh: false });
  rows.push(['raw socket, reused buffers: pull GB/s', fmt(reusedSocket.pullGbps)]);
  rows.push(['raw socket, reused buffers: push GB/s', fmt(reusedSocket.pushGbps)]);
  const variants: [string, RawGrpcOptions][] = [
    ['grpc default windows', { serverWindow: null, clientWindow: null }],
    ['grpc client window only', { serverWindow: null }],
    ['grpc server window only', { clientWindow: null }],
    ['grpc windows 1 MiB', { serverWindow: MiB, clientWindow: MiB }],
    ['grpc windows 4 MiB', { serverWindow: 4 * MiB, clientWindow: 4 * MiB }],
    ['grpc windows 64 MiB', { serverWindow: 64 * MiB, clientWindow: 64 * MiB }],
    ['grpc tuned, reused buffers', { fresh: false }],
  ];
  for (const [label, opts] of variants) {
    addGrpcRows(label, await runIsolated('grpc', { sizeBytes, runs, skipSmall: true, ...opts }));
  }
  addGrpcRows('grpc tuned, both ends under tsx', await runIsolated('grpc', { sizeBytes, runs }, 'tsx'));
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(
  `transport baselines: ${sizeBytes / MiB} MiB over 127.0.0.1 between two processes, medians of ${runs} runs`,
);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v.padStart(8)}`);
console.log(
  JSON.stringify({
    bench: 'transport-raw',
    size_bytes: sizeBytes,
    raw_pull_gbps: Number(tuned.pullGbps.toFixed(3)),
    raw_push_gbps: Number(tuned.pushGbps.toFixed(3)),
    raw_pull_mode: tuned.pullMode,
    raw_push_mode: tuned.pushMode,
    raw_socket_gbps: Number(socket.socketGbps.toFixed(3)),
    raw_socket_pull_gbps: Number(median(socket.pullGbps).toFixed(3)),
    raw_socket_push_gbps: Number(median(socket.pushGbps).toFixed(3)),
    raw_small_rpc_per_s: Math.round(tuned.smallRpcPerS),
    raw_small_mode: tuned.smallMode,
  }),
);
