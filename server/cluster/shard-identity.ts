// shard-identity.ts: the identity of a shard's data dir, `DATA_DIR/shard-identity.json`: a random
// id made when the data dir first claims a shard index in etcd, stored in etcd beside the index
// (common/cluster/etcd-keys.ts, `identities/I`). A restarted server gets its index back only
// with the data dir holding that id, so a server started with another data dir (or none) can
// never take over a shard whose parameters live elsewhere. The file also names the cluster and
// index, so a data dir is never started as another shard. Created exclusively (a complete,
// fsynced temp file hard-linked to the name): two starts on one data dir agree on one id.
import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, mkdirDurable, tempPathFor } from '../durability/fsync';

export const IDENTITY_FILE = 'shard-identity.json';

export interface ShardIdentity {
  identity: string;
  cluster: string;
  index: number;
  /** When it was made (ISO 8601). */
  created: string;
}

/** The data dir's identity, or null when it has none; throws (naming the file) when it is unreadable or malformed. */
export async function readIdentity(dataDir: string): Promise<ShardIdentity | null> {
  const file = join(dataDir, IDENTITY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let v: Partial<ShardIdentity>;
  try {
    v = JSON.parse(text) as Partial<ShardIdentity>;
  } catch {
    v = {};
  }
  if (
    typeof v.identity !== 'string' ||
    v.identity === '' ||
    typeof v.cluster !== 'string' ||
    !Number.isSafeInteger(v.index) ||
    typeof v.created !== 'string'
  )
    throw new Error(`${file} is not a shard identity: expected {"identity","cluster","index","created"}`);
  return v as ShardIdentity;
}

/**
 * The data dir's identity, made now when it has none. `created` says whether this call made it
 * (so a refused first claim can take it back).
 */
export async function ensureIdentity(
  dataDir: string,
  cluster: string,
  index: number,
): Promise<{ identity: ShardIdentity; created: boolean }> {
  const existing = await readIdentity(dataDir);
  if (existing !== null) return { identity: existing, created: false };
  await mkdirDurable(dataDir);
  const file = join(dataDir, IDENTITY_FILE);
  const identity: ShardIdentity = { identity: randomUUID(), cluster, index, created: new Date().toISOString() };
  const tmp = tempPathFor(file);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await writeFile(fh, `${JSON.stringify(identity)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another start on this data dir made one first: that one is the identity.
    const other = await readIdentity(dataDir);
    if (other !== null) return { identity: other, created: false };
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dataDir);
  return { identity, created: true };
}

/** Removes the identity this start made when its first claim was refused (it never held an index). */
export async function removeIdentity(dataDir: string, identity: string): Promise<void> {
  const current = await readIdentity(dataDir).catch(() => null);
  if (current?.identity !== identity) return;
  await unlink(join(dataDir, IDENTITY_FILE)).catch(() => undefined);
  await fsyncDir(dataDir).catch(() => undefined);
}
