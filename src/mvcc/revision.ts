/**
 * Revision codec for backend keys (mirrors etcd server/storage/mvcc/revision.go).
 *
 * A revision is (main, sub): main is the store revision of the write request, sub the position of
 * the change inside it. The backend key is the bucket tag `k`, main as 8 bytes big-endian, `_`,
 * sub as 8 bytes big-endian, and a trailing `t` for a tombstone. Byte order equals revision
 * order, so a LevelDB scan walks history in commit order.
 */
import { BUCKET_KEY } from '../storage/schema.js';

export const REV_KEY_LEN = 18;
const TWO32 = 0x1_0000_0000;

export function revKey(main: number, sub: number, tombstone = false): Buffer {
  const b = Buffer.allocUnsafe(tombstone ? REV_KEY_LEN + 1 : REV_KEY_LEN);
  b[0] = BUCKET_KEY;
  b.writeUInt32BE(Math.floor(main / TWO32), 1);
  b.writeUInt32BE(main >>> 0, 5);
  b[9] = 0x5f; // '_'
  b.writeUInt32BE(Math.floor(sub / TWO32), 10);
  b.writeUInt32BE(sub >>> 0, 14);
  if (tombstone) b[REV_KEY_LEN] = 0x74; // 't'
  return b;
}

export interface DecodedRevKey {
  main: number;
  sub: number;
  tombstone: boolean;
}

export function parseRevKey(b: Buffer): DecodedRevKey {
  if (b.length < REV_KEY_LEN || b[0] !== BUCKET_KEY || b[9] !== 0x5f) {
    throw new Error(`malformed revision key ${b.toString('hex')}`);
  }
  return {
    main: b.readUInt32BE(1) * TWO32 + b.readUInt32BE(5),
    sub: b.readUInt32BE(10) * TWO32 + b.readUInt32BE(14),
    tombstone: b.length > REV_KEY_LEN && b[REV_KEY_LEN] === 0x74,
  };
}

/** The first backend key of revision `main` (inclusive lower bound for scans). */
export function revStart(main: number): Buffer {
  return revKey(main, 0);
}

export const REV_KEYS_END = Buffer.from([BUCKET_KEY + 1]);
