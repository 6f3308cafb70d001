/** etcdserverpb.Maintenance (etcd api/v3rpc/maintenance.go). Snapshot and Downgrade come later. */
import type { Alarm } from '../cluster/alarms.js';
import { EtcdError } from '../errors.js';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  type AlarmMemberInit,
  type AlarmResponseInit,
  type HashKVResponseInit,
  type StatusResponseInit,
} from '../proto/generated.js';
import { toBig, toNum, uint64 } from '../util/int64.js';
import type { HeaderFactory } from './header.js';
import { unary, type ServiceHandlersOf } from './rpc.js';

export interface MaintenanceDeps {
  server: EtcdServer;
  header: HeaderFactory;
  version: string;
}

/** AlarmType names by value, as proto text prints them. */
const ALARM_NAMES = new Map<number, string>(Object.entries(AlarmType).map(([k, v]) => [v, k]));
const ALARM_GET = AlarmRequest_AlarmAction.GET;
const ALARM_ACTIVATE = AlarmRequest_AlarmAction.ACTIVATE;
const ALARM_DEACTIVATE = AlarmRequest_AlarmAction.DEACTIVATE;

function wireAlarm(a: Alarm): AlarmMemberInit {
  const w: AlarmMemberInit = {};
  if (a.memberId !== 0n) w.memberID = uint64(a.memberId);
  if (a.alarm) w.alarm = a.alarm;
  return w;
}

/** etcd prints alarms in Status.errors in proto text form, with a trailing space. */
function alarmText(a: Alarm): string {
  return `${a.memberId !== 0n ? `memberID:${a.memberId} ` : ''}alarm:${ALARM_NAMES.get(a.alarm) ?? a.alarm} `;
}

export function maintenanceService(
  d: MaintenanceDeps,
): ServiceHandlersOf<'etcdserverpb.Maintenance'> {
  const { server, header } = d;
  const member = server.member;
  return {
    Status: unary(() => {
      const st = server.status();
      const res: StatusResponseInit = {
        header: header.make(st.revision),
        version: d.version,
        leader: uint64(member.id),
        raftIndex: st.revision,
        raftTerm: member.term,
        raftAppliedIndex: st.revision,
      };
      if (st.dbSize) {
        res.dbSize = st.dbSize;
        res.dbSizeInUse = st.dbSize;
      }
      const errors = st.alarms.map(alarmText);
      if (errors.length) res.errors = errors;
      return res;
    }),
    Alarm: unary(async (req, ctx) => {
      const memberId = toBig(req.memberID);
      let alarms: Alarm[] = [];
      if (req.action === ALARM_GET) alarms = await server.alarmList(req.alarm, ctx);
      else if (req.action === ALARM_ACTIVATE) {
        const a = await server.alarmActivate(memberId, req.alarm, ctx);
        if (a) alarms = [a];
      } else if (req.action === ALARM_DEACTIVATE) {
        const a = await server.alarmDeactivate(memberId, req.alarm, ctx);
        if (a) alarms = [a];
      }
      // etcd 3.4 sends Alarm responses without a header (3.5 added one).
      const res: AlarmResponseInit = {};
      if (alarms.length) res.alarms = alarms.map(wireAlarm);
      return res;
    }),
    Defragment: unary(async (_req, ctx) => {
      await server.defragment(ctx);
      return {};
    }),
    Hash: unary(async (_req, ctx) => {
      const { hash, rev } = await server.hash(ctx);
      return { header: header.make(rev), hash };
    }),
    HashKV: unary(async (req, ctx) => {
      const { hash, rev, compactRev } = await server.hashKV(toNum(req.revision), ctx);
      const res: HashKVResponseInit = { header: header.make(rev), hash };
      if (compactRev !== 0) res.compact_revision = compactRev;
      return res;
    }),
    MoveLeader: unary(() => {
      throw new EtcdError('badLeaderTransferee');
    }),
  };
}
