/** ResponseHeader filling (etcd api/v3rpc/header.go). */
import { uint64, type Long } from '../util/int64.js';

export interface WireHeader {
  cluster_id: Long;
  member_id: Long;
  revision?: number;
  raft_term: number;
}

export class HeaderFactory {
  private readonly clusterId: Long;
  private readonly memberId: Long;
  private readonly term: number;

  constructor(clusterId: bigint, memberId: bigint, term: number) {
    this.clusterId = uint64(clusterId);
    this.memberId = uint64(memberId);
    this.term = term;
  }

  /** A full header at `revision` (left out when 0, as for cluster responses). */
  make(revision: number): WireHeader {
    const h: WireHeader = {
      cluster_id: this.clusterId,
      member_id: this.memberId,
      raft_term: this.term,
    };
    if (revision) h.revision = revision;
    return h;
  }
}
