/**
 * The size etcd compares with --max-request-bytes (etcdserver/v3_server.go
 * processInternalRaftRequestOnce): not the request as the client sent it, but the raft entry
 * that carries it, an InternalRaftRequest holding the request in one field and a RequestHeader
 * in field 100 with a request ID (and, with auth, the user name and auth revision). The ID
 * comes from etcd's idutil generator: the member ID's low 16 bits above a 48-bit
 * timestamp-and-counter suffix, so its varint length, and with it the limit a client meets,
 * depends on the member ID.
 */
import { varintLen } from '../mvcc/kv-codec.js';

/** InternalRaftRequest field numbers of the requests that go through raft (and are size-checked). */
export const RAFT_FIELD = {
  put: 4,
  deleteRange: 5,
  txn: 6,
  compaction: 7,
  leaseGrant: 8,
  leaseRevoke: 9,
  alarm: 10,
  authEnable: 1000,
  authDisable: 1011,
  authenticate: 1012,
  userAdd: 1100,
  userDelete: 1101,
  userGet: 1102,
  userChangePassword: 1103,
  userGrantRole: 1104,
  userRevokeRole: 1105,
  userList: 1106,
  roleList: 1107,
  roleAdd: 1200,
  roleDelete: 1201,
  roleGet: 1202,
  roleGrantPermission: 1203,
  roleRevokePermission: 1204,
} as const;

/** Bytes of a uint64's varint from its bit length. */
function varintLenOfBits(bits: number): number {
  return Math.max(1, Math.ceil(bits / 7));
}

/** Bit length of etcd's request IDs for a member: 48 bits of suffix under the member bits. */
export function requestIdBits(memberId: bigint): number {
  const low16 = Number(memberId & 0xffffn);
  return low16 === 0 ? 48 : 48 + Math.floor(Math.log2(low16)) + 1;
}

export interface RaftEntryAuth {
  username: string;
  authRevision: number;
}

/** The marshalled size of the raft entry for a request of `requestBytes` in `field`. */
export function raftEntryBytes(
  requestBytes: number,
  field: number,
  idBits: number,
  auth?: RaftEntryAuth,
): number {
  // RequestHeader: ID (field 1), username (2) and auth_revision (3) when set.
  let header = 1 + varintLenOfBits(idBits);
  if (auth && auth.username !== '') {
    const n = Buffer.byteLength(auth.username);
    header += 1 + varintLen(n) + n;
  }
  if (auth && auth.authRevision !== 0) header += 1 + varintLen(auth.authRevision);
  // Field 100 takes a two-byte tag; fields below 16 one byte.
  const headerField = 2 + varintLen(header) + header;
  const tag = field < 16 ? 1 : field < 2048 ? 2 : 3;
  return headerField + tag + varintLen(requestBytes) + requestBytes;
}
