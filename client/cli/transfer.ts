// transfer.ts: the commands that move state: export and import (parameters to and from a
// tensor file through saveParameters / loadParameters, with progress on stderr: a bar redrawn in
// place on a terminal, plain lines otherwise) and checkpoint (AdminService.Checkpoint). On a
// cluster (--server with every shard's address) export and import read and write the same files
// as one server, and checkpoint asks every shard.
import type { LoadFormat, ParameterServerClient, PersistProgress, SaveFormat } from '../index';
import type { Command } from './args';
import { mib } from './format';
import type { Output } from './format';

/**
 * Progress on stderr: a bar redrawn in place on a terminal; otherwise plain lines, one per
 * parameter for small jobs and at most one a second (plus the last) for big ones.
 */
export function progressReporter(out: Output, verb: string): { report(p: PersistProgress): void; end(): void } {
  const tty = out.stderr.isTTY === true;
  let drawn = false;
  let lastLine = 0;
  return {
    report(p) {
      const pct = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.total > 0 ? p.done / p.total : 1;
      if (tty) {
        const columns = out.stderr.columns || 80; // 0 when the terminal does not say
        const width = Math.max(10, Math.min(30, columns - 60));
        const full = Math.round(pct * width);
        const head =
          `${verb} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(pct * 100).toFixed(0).padStart(3)}% ` +
          `${p.done}/${p.total} ${mib(p.bytes)}/${mib(p.totalBytes)} `;
        const room = Math.max(0, columns - head.length - 1);
        const name = p.name.length <= room ? p.name : room >= 8 ? `${p.name.slice(0, room - 3)}...` : '';
        out.stderr.write(`\r\x1b[K${head}${name}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (p.total <= 50 || p.done === p.total || now - lastLine >= 1000) {
        lastLine = now;
        out.stderr.write(
          `${verb}: ${p.done}/${p.total} parameters, ${mib(p.bytes)} of ${mib(p.totalBytes)} (${p.name})\n`,
        );
      }
    },
    end() {
      if (drawn) out.stderr.write('\n');
      drawn = false;
    },
  };
}

export async function runExport(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const progress = cmd.quiet ? null : progressReporter(out, 'export');
  try {
    const r = await ps.saveParameters(cmd.file, {
      format: (cmd.format ?? 'params') as SaveFormat,
      names: cmd.names,
      numpyShape: cmd.numpyShape,
      onProgress: progress === null ? null : (p) => progress.report(p),
    });
    progress?.end();
    const seconds = (performance.now() - started) / 1000;
    if (cmd.json) {
      out.stdout.write(
        `${JSON.stringify({ command: 'export', file: r.file, format: r.format, parameters: r.names.length, bytes: r.bytes, seconds: Number(seconds.toFixed(3)) })}\n`,
      );
    } else {
      out.stdout.write(
        `exported ${r.names.length} parameter${r.names.length === 1 ? '' : 's'} to ${r.file} (${r.format}, ${mib(r.bytes)}) in ${seconds.toFixed(2)} s\n`,
      );
    }
  } finally {
    progress?.end();
  }
}

export async function runImport(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const progress = cmd.quiet ? null : progressReporter(out, 'import');
  try {
    const r = await ps.loadParameters(cmd.file, {
      format: cmd.format as LoadFormat | undefined,
      names: cmd.names,
      allowMissing: cmd.allowMissing,
      ignoreExtra: cmd.ignoreExtra,
      declare: cmd.declare,
      ctx: cmd.ctx,
      castDtype: cmd.castDtype,
      ...(cmd.dtypeSource === undefined ? {} : { dtypeSource: cmd.dtypeSource }),
      onProgress: progress === null ? null : (p) => progress.report(p),
    });
    progress?.end();
    const seconds = (performance.now() - started) / 1000;
    if (cmd.json) {
      out.stdout.write(
        `${JSON.stringify({ command: 'import', file: cmd.file, format: r.format, loaded: r.loaded, declared: r.declared, missing: r.missing, extra: r.extra, seconds: Number(seconds.toFixed(3)) })}\n`,
      );
    } else {
      const notes = [
        r.declared.length > 0 ? `${r.declared.length} declared` : '',
        r.missing.length > 0 ? `${r.missing.length} missing from the file left as they were` : '',
        r.extra.length > 0 ? `${r.extra.length} extra entries skipped` : '',
      ].filter(Boolean);
      out.stdout.write(
        `imported ${r.loaded.length} parameter${r.loaded.length === 1 ? '' : 's'} from ${cmd.file} (${r.format}) in ${seconds.toFixed(2)} s` +
          `${notes.length > 0 ? `; ${notes.join(', ')}` : ''}\n`,
      );
    }
  } finally {
    progress?.end();
  }
}

export async function runCheckpoint(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const reply = await ps.checkpoint({ reason: cmd.reason });
  const seconds = (performance.now() - started) / 1000;
  const shards = reply.shards ?? null;
  if (cmd.json) {
    out.stdout.write(
      `${JSON.stringify({ command: 'checkpoint', id: reply.id, dataDir: reply.dataDir, ...(shards === null ? {} : { shards }), seconds: Number(seconds.toFixed(3)) })}\n`,
    );
  } else if (shards === null) {
    out.stdout.write(`checkpoint ${reply.id} written in ${reply.dataDir} (${seconds.toFixed(2)} s)\n`);
  } else {
    // A cluster: every shard wrote its own, in its own data dir.
    for (const s of shards) out.stdout.write(`shard ${s.index}: checkpoint ${s.id} written in ${s.dataDir}\n`);
    out.stdout.write(`${shards.length} shards checkpointed (${seconds.toFixed(2)} s)\n`);
  }
}
