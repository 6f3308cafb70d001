// --max-request-bytes at its exact boundary: etcd compares the size of the raft entry that
// carries a write (the request plus a header with a request ID whose varint length depends on
// the member ID; src/kv/request-size.ts). For a real etcd and for ours, the largest Put value
// accepted must be what that rule predicts from the server's own member ID, and one byte more
// must be refused with etcd's error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdGrpcClient, type Wire } from '../helpers/grpc-client.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { RAFT_FIELD, raftEntryBytes, requestIdBits } from '../../src/etcdserver/request-size.js';
import { varintLen } from '../../src/mvcc/kv-codec.js';

const LIMIT = 4096;
const KEY = Buffer.from('size/k');

/** Encoded PutRequest size for KEY and a value of `n` bytes. */
const putBytes = (n: number): number =>
  1 + varintLen(KEY.length) + KEY.length + (n > 0 ? 1 + varintLen(n) + n : 0);

/** The largest value the rule accepts for a member. */
function predicted(memberId: bigint): number {
  const bits = requestIdBits(memberId);
  let n = 0;
  while (raftEntryBytes(putBytes(n + 1), RAFT_FIELD.put, bits) <= LIMIT) n++;
  return n;
}

async function boundary(s: ServerHandle): Promise<{ memberId: bigint; largest: number }> {
  const c = new EtcdGrpcClient(s.endpoint);
  try {
    const first = await c.call('KV', 'Range', { key: KEY });
    assert.ok(first.ok);
    const memberId = BigInt((first.response['header'] as Wire)['member_id'] as string);
    const guess = predicted(memberId);
    const accepted: number[] = [];
    for (let n = guess - 3; n <= guess + 3; n++) {
      const r = await c.call('KV', 'Put', { key: KEY, value: Buffer.alloc(n, 0x61) });
      if (r.ok) accepted.push(n);
      else {
        assert.equal(r.codeName, 'INVALID_ARGUMENT');
        assert.equal(r.message, 'etcdserver: request is too large');
      }
    }
    // Every size up to the boundary passes and every size after it fails.
    const largest = Math.max(...accepted);
    assert.deepEqual(
      accepted,
      Array.from({ length: largest - (guess - 3) + 1 }, (_, i) => guess - 3 + i),
    );
    return { memberId, largest };
  } finally {
    c.close();
  }
}

const flags = ['--max-request-bytes', String(LIMIT)];

test(
  'the real etcd refuses exactly what the raft-entry rule predicts',
  { skip: realEtcdSkipReason(), timeout: 60_000 },
  async (t) => {
    for (const name of ['size-a', 'size-b', 'size-c']) {
      const s = await startRealEtcd({ name, extraArgs: flags });
      t.after(() => s.destroy());
      const { memberId, largest } = await boundary(s);
      assert.equal(largest, predicted(memberId), `member ${memberId.toString(16)}`);
      t.diagnostic(`member ${memberId.toString(16)}: values up to ${largest} bytes pass`);
    }
  },
);

test(
  'ours refuses exactly what the raft-entry rule predicts, whatever the member ID',
  { skip: ourServerSkipReason(), timeout: 60_000 },
  async (t) => {
    const seen = new Set<number>();
    // Peer URLs give different member IDs, so request IDs of different varint lengths.
    for (let port = 2380; seen.size < 2 && port < 2400; port++) {
      const peer = `http://127.0.0.1:${port}`;
      const s = await startOurServer({
        name: 'size',
        extraArgs: [
          ...flags,
          '--initial-advertise-peer-urls',
          peer,
          '--initial-cluster',
          `size=${peer}`,
        ],
      });
      try {
        const { memberId, largest } = await boundary(s);
        assert.equal(largest, predicted(memberId), `member ${memberId.toString(16)}`);
        t.diagnostic(`member ${memberId.toString(16)}: values up to ${largest} bytes pass`);
        seen.add(Math.ceil(requestIdBits(memberId) / 7));
      } finally {
        await s.destroy();
      }
    }
    assert.equal(seen.size, 2, 'both request-ID varint lengths were tried');
  },
);
