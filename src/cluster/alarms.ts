/**
 * Alarms (etcd server/etcdserver/api/v3alarm): NOSPACE and CORRUPT per member ID, persisted.
 * While NOSPACE is raised, writes that add data fail with "database space exceeded"; while
 * CORRUPT is raised, every write fails with "corrupt cluster".
 */
import { AlarmType } from '../proto/generated.js';
import type { Backend } from '../storage/backend.js';
import { BUCKET_META } from '../storage/schema.js';

// Alarm types are etcdserverpb.AlarmType values, stored and compared as they go on the wire.
export const ALARM_NONE = AlarmType.NONE;
export const ALARM_NOSPACE = AlarmType.NOSPACE;
export const ALARM_CORRUPT = AlarmType.CORRUPT;

export interface Alarm {
  memberId: bigint;
  alarm: number;
}

const KEY = Buffer.concat([Buffer.from([BUCKET_META]), Buffer.from('alarms')]);

export class AlarmStore {
  private alarms: Alarm[] = [];
  private readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    const raw = await this.backend.get(KEY);
    if (!raw) return;
    const list = JSON.parse(raw.toString()) as { memberId: string; alarm: number }[];
    this.alarms = list.map((a) => ({ memberId: BigInt(a.memberId), alarm: a.alarm }));
  }

  private async save(): Promise<void> {
    const json = JSON.stringify(
      this.alarms.map((a) => ({ memberId: a.memberId.toString(), alarm: a.alarm })),
    );
    await this.backend.write([{ type: 'put', key: KEY, value: Buffer.from(json) }]);
  }

  list(type: number = ALARM_NONE): Alarm[] {
    return this.alarms.filter((a) => type === ALARM_NONE || a.alarm === type);
  }

  has(type: number): boolean {
    return this.alarms.some((a) => a.alarm === type);
  }

  /** Raises an alarm; returns it (no-op for NONE, which crashed a real etcd). */
  async activate(memberId: bigint, alarm: number): Promise<Alarm | null> {
    if (alarm === ALARM_NONE) return null;
    const found = this.alarms.find((a) => a.memberId === memberId && a.alarm === alarm);
    if (found) return found;
    const a = { memberId, alarm };
    this.alarms.push(a);
    await this.save();
    return a;
  }

  async deactivate(memberId: bigint, alarm: number): Promise<Alarm | null> {
    const i = this.alarms.findIndex((a) => a.memberId === memberId && a.alarm === alarm);
    if (i < 0) return null;
    const [a] = this.alarms.splice(i, 1);
    await this.save();
    return a ?? null;
  }
}
