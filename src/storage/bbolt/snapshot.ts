/**
 * etcd's framing of a bbolt file as a snapshot: the SHA-256 digest it appends, and the
 * Maintenance.Snapshot stream of 32 KiB chunks with a `remaining_bytes` count.
 *
 * Mirrors etcd 3.4 etcdserver/api/v3rpc/maintenance.go Snapshot (chunks of 32 KiB, each with
 * the bytes still to come, then one message whose blob is the SHA-256 of the whole database)
 * and clientv3/snapshot/v3_snapshot.go (`snapshot save` keeps that digest at the end of the
 * file; restore treats a file whose size % 512 == 32 as carrying it, since a bbolt file is
 * whole pages, and checks it).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

export const SNAPSHOT_DIGEST_SIZE = 32;
/** The blob size of etcd's snapshot messages. */
export const SNAPSHOT_CHUNK_SIZE = 32 * 1024;

/** etcd's test for a digest suffix: whole 512-byte sectors plus 32 bytes. */
export function hasSnapshotDigest(fileSize: number): boolean {
  return fileSize % 512 === SNAPSHOT_DIGEST_SIZE;
}

/** SHA-256 of the first `length` bytes of `path` (the whole file by default), read in 1 MiB steps. */
export async function sha256File(path: string, length?: number): Promise<Buffer> {
  const fh = await fs.open(path, 'r');
  try {
    const size = length ?? (await fh.stat()).size;
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead === 0) throw new Error(`${path} ends at ${at}, before ${size}`);
      h.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return h.digest();
  } finally {
    await fh.close();
  }
}

/**
 * Appends the SHA-256 of the file to the file, making a bbolt file into what `etcdctl
 * snapshot save` writes. Returns the digest.
 */
export async function appendSnapshotDigest(path: string): Promise<Buffer> {
  const digest = await sha256File(path);
  await fs.appendFile(path, digest);
  return digest;
}

export interface SnapshotChunk {
  /** Bytes of the database still to come after this blob; 0 for the last chunk and the digest. */
  remainingBytes: number;
  blob: Buffer;
}

/**
 * The messages of a Maintenance.Snapshot stream for the bbolt file at `path` (no digest in
 * it): its bytes in chunks of `chunkSize`, then `{remainingBytes: 0, blob: sha256}`. The file
 * is read as the stream is consumed, one chunk at a time; it must not change meanwhile.
 */
export async function* snapshotChunks(
  path: string,
  chunkSize = SNAPSHOT_CHUNK_SIZE,
): AsyncGenerator<SnapshotChunk> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    const h = createHash('sha256');
    let sent = 0;
    while (sent < size) {
      const blob = Buffer.allocUnsafe(Math.min(chunkSize, size - sent));
      let filled = 0;
      while (filled < blob.length) {
        const { bytesRead } = await fh.read(blob, filled, blob.length - filled, sent + filled);
        if (bytesRead === 0) throw new Error(`${path} shrank while it was being sent`);
        filled += bytesRead;
      }
      h.update(blob);
      sent += blob.length;
      yield { remainingBytes: size - sent, blob };
    }
    yield { remainingBytes: 0, blob: h.digest() };
  } finally {
    await fh.close();
  }
}
