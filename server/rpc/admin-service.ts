// admin-service.ts: the gluonps.v1.AdminService handlers (on-demand checkpoints).
import type { Logger } from 'pino';
import type { Durability } from '../durability/durability';
import { precondition } from '../errors';
import type { AdminServiceHandlers } from '../../protos/generated/gluonps/v1/AdminService';
import { unary } from './calls';

export function adminServiceHandlers(durability: () => Durability | null, log: Logger): AdminServiceHandlers {
  return {
    Checkpoint: unary({ log, method: 'Checkpoint' }, async (req) => {
      const d = durability();
      if (d === null) throw precondition('checkpoint: this server runs without a data directory (--data-dir none)');
      const id = await d.checkpoint(req.reason === '' ? 'on demand' : req.reason);
      return { id: Number(id), dataDir: d.options.dataDir };
    }),
  };
}
