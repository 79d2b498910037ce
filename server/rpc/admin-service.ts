// admin-service.ts: the gluonps.v1.AdminService handlers: on-demand checkpoints (coalesced and
// spaced out by Durability.requestCheckpoint; the reason goes to the log, so it is bounded), and
// the server's status (server/observability/status.ts builds it; this only translates), and which
// shard of which cluster this server is (DescribeShard).
import type { Logger } from 'pino';
import { invalid, precondition } from '../errors';
import { DEFAULT_MAX_REASON_BYTES, overLimit } from '../limits';
import { describeTrainer, statusToProto } from '../../common/status';
import type { AdminServiceHandlers } from '../../protos/generated/gluonps/v1/AdminService';
import type { Route } from '../../common/cluster/route';
import { shardRoute } from '../config';
import { serverStatus, trainerStatus } from '../observability/status';
import type { StatusSource } from '../observability/status';
import { unary } from './calls';

const DEFAULT_ROUTE = shardRoute(undefined);

/** Methods answered whatever the call's routing and while the server recovers (server/index.ts). */
export const ALWAYS_ANSWERED: ReadonlySet<string> = new Set(['DescribeShard']);

/** This server's shard, and whether it serves calls now. */
export interface ShardState {
  route: Route;
  serving: () => boolean;
}

/** `source` gives the server's parts (its durability() is the data dir's manager, or null). */
export function adminServiceHandlers(
  source: StatusSource,
  log: Logger,
  maxReasonBytes = DEFAULT_MAX_REASON_BYTES,
  shard: ShardState = { route: DEFAULT_ROUTE, serving: () => true },
): AdminServiceHandlers {
  return {
    DescribeShard: unary({ log, method: 'DescribeShard' }, () => ({
      cluster: shard.route.cluster,
      shardIndex: shard.route.index,
      numShards: shard.route.count,
      layoutVersion: shard.route.layoutVersion,
      sliceBytes: shard.route.sliceBytes,
      serving: shard.serving(),
      declareClock: source.store.declareClock,
    })),
    Checkpoint: unary({ log, method: 'Checkpoint' }, async (req) => {
      const d = source.durability();
      if (d === null) throw precondition('checkpoint: this server runs without a data directory (--data-dir none)');
      const bytes = Buffer.byteLength(req.reason, 'utf8');
      if (bytes > maxReasonBytes)
        throw overLimit('checkpoint: a reason of', `${bytes} bytes`, `${maxReasonBytes} bytes`, '--max-reason-bytes');
      const id = await d.requestCheckpoint(req.reason === '' ? 'on demand' : req.reason);
      return { id: Number(id), dataDir: d.options.dataDir };
    }),

    GetStatus: unary({ log, method: 'GetStatus' }, async (req) => {
      if (req.trainer.length > 256)
        throw invalid(`status: a trainer name is at most 256 characters, got ${req.trainer.length}`);
      return statusToProto(await serverStatus(source, req.trainer === '' ? {} : { trainer: req.trainer }));
    }),

    ListTrainers: unary({ log, method: 'ListTrainers' }, () => {
      const now = Date.now();
      const trainers = source.trainers
        .all()
        .map((t) => trainerStatus(t, now))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((t) => ({ name: t.name, description: describeTrainer(t) }));
      return { trainers };
    }),
  };
}
