/**
 * The single member's identity: member and cluster IDs derived as etcd derives them
 * (etcd server/etcdserver/api/membership/member.go and cluster.go: SHA-1 of the peer URLs and
 * the cluster token; the cluster ID from the sorted member IDs), persisted on first start so
 * they stay stable; and the raft term, which etcd bumps by one on every restart (2 when fresh).
 */
import crypto from 'node:crypto';
import type { Backend } from '../storage/backend.js';
import { META, readU64, u64 } from '../storage/schema.js';

export interface MemberInfo {
  id: bigint;
  clusterId: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  term: number;
}

function sha1Prefix(data: Buffer): bigint {
  return crypto.createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

export function computeMemberId(peerUrls: string[], clusterToken: string): bigint {
  const urls = [...peerUrls].sort();
  return sha1Prefix(Buffer.from(urls.join('') + clusterToken));
}

export function computeClusterId(memberIds: bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return sha1Prefix(b);
}

export interface MembershipInput {
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  clusterToken: string;
}

/** Loads the stored identity (or creates it) and bumps the term; persists both. */
export async function loadMembership(
  backend: Backend,
  input: MembershipInput,
): Promise<MemberInfo> {
  let id = readU64(await backend.get(META.memberId));
  let clusterId = readU64(await backend.get(META.clusterId));
  if (id === undefined || clusterId === undefined) {
    id = computeMemberId(input.peerUrls, input.clusterToken);
    clusterId = computeClusterId([id]);
  }
  const prevTerm = Number(readU64(await backend.get(META.term)) ?? 1n);
  const term = prevTerm + 1;
  await backend.write([
    { type: 'put', key: META.memberId, value: u64(id) },
    { type: 'put', key: META.clusterId, value: u64(clusterId) },
    { type: 'put', key: META.term, value: u64(term) },
  ]);
  return {
    id,
    clusterId,
    name: input.name,
    peerUrls: input.peerUrls,
    clientUrls: input.clientUrls,
    term,
  };
}
