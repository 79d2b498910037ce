// admin-service.ts: the gluonps.v1.AdminService handlers (on-demand checkpoints, coalesced and
// spaced out by Durability.requestCheckpoint; the reason goes to the log, so it is bounded).
import type { Logger } from 'pino';
import type { Durability } from '../durability/durability';
import { precondition } from '../errors';
import { DEFAULT_MAX_REASON_BYTES, overLimit } from '../limits';
import type { AdminServiceHandlers } from '../../protos/generated/gluonps/v1/AdminService';
import { unary } from './calls';

export function adminServiceHandlers(
  durability: () => Durability | null,
  log: Logger,
  maxReasonBytes = DEFAULT_MAX_REASON_BYTES,
): AdminServiceHandlers {
  return {
    Checkpoint: unary({ log, method: 'Checkpoint' }, async (req) => {
      const d = durability();
      if (d === null) throw precondition('checkpoint: this server runs without a data directory (--data-dir none)');
      const bytes = Buffer.byteLength(req.reason, 'utf8');
      if (bytes > maxReasonBytes)
        throw overLimit('checkpoint: a reason of', `${bytes} bytes`, `${maxReasonBytes} bytes`, '--max-reason-bytes');
      const id = await d.requestCheckpoint(req.reason === '' ? 'on demand' : req.reason);
      return { id: Number(id), dataDir: d.options.dataDir };
    }),
  };
}
