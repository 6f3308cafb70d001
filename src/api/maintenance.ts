/** etcdserverpb.Maintenance (etcd api/v3rpc/maintenance.go). Snapshot and Downgrade come later. */
import zlib from 'node:zlib';
import { ALARM_NONE, type Alarm, type AlarmStore } from '../cluster/alarms.js';
import type { MemberInfo } from '../cluster/membership.js';
import { EtcdError } from '../errors.js';
import type { KvStore } from '../mvcc/store.js';
import { decodeKeyValue } from '../mvcc/kv-codec.js';
import { decodeSegment, SEGMENTS_END, SEGMENTS_START } from '../mvcc/segment.js';
import { toBig, toNum, uint64, type Int64 } from './codec.js';
import type { HeaderFactory } from './header.js';
import { unary, type ServiceHandlers } from './rpc.js';

export interface MaintenanceDeps {
  store: KvStore;
  member: MemberInfo;
  header: HeaderFactory;
  alarms: AlarmStore;
  version: string;
}

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

function wireAlarm(a: Alarm): Record<string, unknown> {
  const w: Record<string, unknown> = {};
  if (a.memberId !== 0n) w['memberID'] = uint64(a.memberId);
  if (a.alarm) w['alarm'] = a.alarm;
  return w;
}

/** etcd prints alarms in Status.errors in proto text form, with a trailing space. */
function alarmText(a: Alarm): string {
  return `${a.memberId !== 0n ? `memberID:${a.memberId} ` : ''}alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} `;
}

export function maintenanceService(d: MaintenanceDeps): ServiceHandlers {
  const { store, header } = d;
  return {
    Status: unary(() => {
      const size = store.backend.diskSize();
      const res: Record<string, unknown> = {
        header: header.make(store.committedRev),
        version: d.version,
        leader: uint64(d.member.id),
        raftIndex: store.committedRev,
        raftTerm: d.member.term,
        raftAppliedIndex: store.committedRev,
      };
      if (size) {
        res['dbSize'] = size;
        res['dbSizeInUse'] = size;
      }
      const errors = d.alarms.list().map(alarmText);
      if (errors.length) res['errors'] = errors;
      return res;
    }),
    Alarm: unary(async (req: { action: number; memberID: Int64; alarm: number }) => {
      const memberId = toBig(req.memberID);
      let alarms: Alarm[] = [];
      if (req.action === 0) alarms = d.alarms.list(req.alarm ?? ALARM_NONE);
      else if (req.action === 1) {
        const a = await d.alarms.activate(memberId, req.alarm);
        if (a) alarms = [a];
      } else if (req.action === 2) {
        const a = await d.alarms.deactivate(memberId, req.alarm);
        if (a) alarms = [a];
      }
      // etcd 3.4 sends Alarm responses without a header (3.5 added one).
      const res: Record<string, unknown> = {};
      if (alarms.length) res['alarms'] = alarms.map(wireAlarm);
      return res;
    }),
    Defragment: unary(async () => {
      await store.backend.compactRange(Buffer.from([0]), Buffer.from([0xff]));
      return {};
    }),
    Hash: unary(async () => {
      const head = store.committedRev;
      let crc = 0;
      for await (const chunk of store.backend.scan(Buffer.from([0]), Buffer.from([0xff]))) {
        for (const [k, v] of chunk) crc = zlib.crc32(v, zlib.crc32(k, crc));
      }
      return { header: header.make(head), hash: crc >>> 0 };
    }),
    HashKV: unary(async (req: { revision: Int64 }) => {
      const head = store.committedRev;
      let rev = toNum(req.revision);
      if (rev <= 0) rev = head;
      if (rev > store.committedRev) throw new EtcdError('futureRev');
      // Unlike Range, HashKV refuses the compact revision itself.
      if (rev <= store.compactRev) throw new EtcdError('compacted');
      let crc = 0;
      for await (const chunk of store.backend.scan(SEGMENTS_START, SEGMENTS_END, 64)) {
        for (const [, seg] of chunk) {
          for (const e of decodeSegment(seg)) {
            if (e.main > rev) continue;
            decodeKeyValue(e.kv); // validates every stored revision
            crc = zlib.crc32(e.kv, crc);
          }
        }
      }
      const res: Record<string, unknown> = {
        header: header.make(head),
        hash: crc >>> 0,
      };
      // etcd reports -1 before the first compaction (its compactMainRev starts at -1).
      const compactRev = store.hasCompacted ? store.compactRev : -1;
      if (compactRev !== 0) res['compact_revision'] = compactRev;
      return res;
    }),
    MoveLeader: unary(() => {
      throw new EtcdError('badLeaderTransferee');
    }),
  };
}
