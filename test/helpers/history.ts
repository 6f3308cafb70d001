// A concurrent history check in the style of etcd's robustness tests, scaled down.
//
// runWorkload() has several clients (each on its own gRPC channel) do puts, deletes,
// compare-and-swap txns and linearizable reads on a few hot keys, recording every operation's
// start and end time, header revision and result. checkHistory() then replays the writes, in
// the order of the revisions the server gave them, and reports every place where the answers
// cannot all be true at once:
//   - two writes with the same revision, or a revision no write accounts for;
//   - real-time order: an operation that began after another one ended has a lower revision
//     (a write: not a higher one);
//   - a read (or a txn's failure-branch range) whose data is not the newest write to that key at
//     or below its header revision;
//   - a CAS whose outcome does not fit the key's state just before it (success) or at its header
//     revision (failure);
//   - a delete whose count does not fit the key's state.
// Operations that failed (the server went away) count as "maybe happened": the history read
// back from the server afterwards (all events from revision 2, by a watch) decides whether they
// did, and every event in it must belong to an operation that was sent.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, type Wire } from './grpc-client.js';

type ClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client;

let ctors: { KV: ClientCtor; Watch: ClientCtor } | undefined;

function services(): { KV: ClientCtor; Watch: ClientCtor } {
  if (!ctors) {
    const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', LOADER_OPTIONS);
    ctors = (
      grpc.loadPackageDefinition(def) as unknown as {
        etcdserverpb: { KV: ClientCtor; Watch: ClientCtor };
      }
    ).etcdserverpb;
  }
  return ctors;
}

/** What a key held at some revision: absent, or a value written at `mod`. */
interface KeyState {
  value: string | null;
  mod: number;
}

const ABSENT: KeyState = { value: null, mod: 0 };

export type OpKind = 'put' | 'delete' | 'cas' | 'get';

export interface Op {
  client: number;
  kind: OpKind;
  key: string;
  /** The value a put or a successful CAS writes (unique in the whole run). */
  value?: string;
  /** The mod revision a CAS compares against (0: the key must be absent). */
  expectMod?: number;
  start: number;
  end: number;
  /** False when the call failed: the write may or may not have happened. */
  ok: boolean;
  /** Header revision of the response. */
  rev: number;
  /** What a get (or a failed CAS's range) returned. */
  seen?: KeyState;
  /** Whether a CAS took its success branch. */
  succeeded?: boolean;
  /** How many keys a delete removed. */
  deleted?: number;
}

/** One event of the server's history. */
export interface HistoryEvent {
  rev: number;
  key: string;
  type: 'PUT' | 'DELETE';
  value: string;
}

function kvState(kv: Wire | undefined): KeyState {
  if (!kv) return ABSENT;
  return {
    value: (kv['value'] as Buffer | undefined)?.toString('latin1') ?? '',
    mod: Number(kv['mod_revision']),
  };
}

function revOf(res: Wire): number {
  return Number((res['header'] as Wire)['revision']);
}

class Client {
  private readonly kv: grpc.Client;

  constructor(endpoint: string) {
    this.kv = new (services().KV)(endpoint, grpc.credentials.createInsecure());
  }

  call(method: string, req: Wire, timeoutMs: number): Promise<Wire> {
    const c = this.kv as unknown as Record<
      string,
      (
        r: Wire,
        md: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, res?: Wire) => void,
      ) => void
    >;
    return new Promise((resolve, reject) => {
      c[method]!.call(
        this.kv,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (e, res) => (e ? reject(e) : resolve(res ?? {})),
      );
    });
  }

  close(): void {
    this.kv.close();
  }
}

export interface WorkloadOptions {
  clients: number;
  keys: number;
  opsPerClient: number;
  /** Key prefix, so several runs can share a server. */
  prefix: string;
  /** Stop early (the server is about to be killed): checked before each operation. */
  stop?: () => boolean;
  timeoutMs?: number;
}

let runs = 0;

/** Runs the concurrent workload and returns every operation, in no particular order. */
export async function runWorkload(endpoint: string, o: WorkloadOptions): Promise<Op[]> {
  const ops: Op[] = [];
  const timeoutMs = o.timeoutMs ?? 10_000;
  const keyName = (i: number): string => `${o.prefix}k${i}`;
  // Values are unique across runs too (several runs may share one history).
  const run = (runs++).toString(36) + Math.random().toString(36).slice(2, 6);
  const one = async (id: number): Promise<void> => {
    const c = new Client(endpoint);
    // The newest mod revision this client saw per key: what its CAS compares against.
    const lastMod = new Map<string, number>();
    let seq = 0;
    try {
      for (let i = 0; i < o.opsPerClient && !o.stop?.(); i++) {
        const key = keyName((id * 7 + i * 13 + Math.floor(Math.random() * o.keys)) % o.keys);
        const r = Math.random();
        const kind: OpKind = r < 0.35 ? 'put' : r < 0.45 ? 'delete' : r < 0.65 ? 'cas' : 'get';
        const op: Op = {
          client: id,
          kind,
          key,
          start: performance.now(),
          end: 0,
          ok: false,
          rev: 0,
        };
        const k = Buffer.from(key, 'latin1');
        if (kind === 'put' || kind === 'cas') op.value = `${run}:c${id}.${seq++}`;
        ops.push(op);
        try {
          if (kind === 'put') {
            const res = await c.call('Put', { key: k, value: Buffer.from(op.value!) }, timeoutMs);
            op.rev = revOf(res);
          } else if (kind === 'delete') {
            const res = await c.call('DeleteRange', { key: k }, timeoutMs);
            op.rev = revOf(res);
            op.deleted = Number(res['deleted'] ?? 0);
          } else if (kind === 'get') {
            const res = await c.call('Range', { key: k }, timeoutMs);
            op.rev = revOf(res);
            op.seen = kvState((res['kvs'] as Wire[] | undefined)?.[0]);
            lastMod.set(key, op.seen.mod);
          } else {
            op.expectMod = lastMod.get(key) ?? 0;
            const res = await c.call(
              'Txn',
              {
                compare: [
                  {
                    result: 'EQUAL',
                    target: 'MOD',
                    key: k,
                    mod_revision: String(op.expectMod),
                  },
                ],
                success: [{ request_put: { key: k, value: Buffer.from(op.value!) } }],
                failure: [{ request_range: { key: k } }],
              },
              timeoutMs,
            );
            op.rev = revOf(res);
            op.succeeded = res['succeeded'] === true;
            if (op.succeeded) {
              lastMod.set(key, op.rev);
            } else {
              const rr = (res['responses'] as Wire[])[0]!['response_range'] as Wire;
              op.seen = kvState((rr['kvs'] as Wire[] | undefined)?.[0]);
              lastMod.set(key, op.seen.mod);
            }
          }
          op.ok = true;
        } catch {
          op.ok = false;
          if (o.stop?.()) return;
          throw new Error(`client ${id}: ${kind} ${key} failed while the server was up`);
        } finally {
          op.end = performance.now();
        }
      }
    } finally {
      c.close();
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => one(i)));
  return ops;
}

/**
 * Every event of the server's history under `prefix`, from revision `from` up to the current
 * revision (the workload must be the only writer since `from`).
 */
export async function readHistory(
  endpoint: string,
  prefix: string,
  from: number,
  timeoutMs = 20_000,
): Promise<HistoryEvent[]> {
  const kv = new Client(endpoint);
  const head = revOf(await kv.call('Range', { key: Buffer.from('\0') }, timeoutMs));
  kv.close();
  const events: HistoryEvent[] = [];
  if (head < from) return events;
  const client = new (services().Watch)(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  const call = (client as unknown as { Watch(): grpc.ClientDuplexStream<Wire, Wire> }).Watch();
  const end = prefixEnd(prefix);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out reading the history')), timeoutMs);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      call.on('error', (e: Error) => done(e));
      call.on('data', (m: Wire) => {
        if (m['canceled']) return done(new Error(`history watch canceled: ${JSON.stringify(m)}`));
        for (const e of (m['events'] as Wire[] | undefined) ?? []) {
          const kvw = e['kv'] as Wire;
          const rev = Number(kvw['mod_revision']);
          events.push({
            rev,
            key: (kvw['key'] as Buffer).toString('latin1'),
            type: e['type'] === 'DELETE' ? 'DELETE' : 'PUT',
            value: (kvw['value'] as Buffer | undefined)?.toString('latin1') ?? '',
          });
        }
        const last = events.length ? events[events.length - 1]!.rev : 0;
        if (last >= head) done();
      });
      call.write({
        create_request: {
          key: Buffer.from(prefix, 'latin1'),
          range_end: end,
          start_revision: String(from),
        },
      });
    });
  } finally {
    call.cancel();
    client.close();
  }
  return events;
}

function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'latin1');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]!++;
      return out;
    }
  }
  return Buffer.from([0]);
}

/**
 * Checks the operations against each other and against the server's history (events of the
 * workload's keys only, so `baseRev` is the revision before the workload's first write; the
 * workload must be the only writer). Returns one line per violation (empty: consistent).
 */
export function checkHistory(ops: Op[], history: HistoryEvent[], baseRev: number): string[] {
  const bad: string[] = [];
  const say = (msg: string): void => {
    if (bad.length < 50) bad.push(msg);
  };
  const show = (op: Op): string =>
    `${op.kind} ${op.key}${op.value ? `=${op.value}` : ''} by client ${op.client} (header ${op.rev}, ` +
    `${op.start.toFixed(1)}–${op.end.toFixed(1)} ms)`;

  // 1. The history: revisions strictly increasing and contiguous from baseRev + 1, one event
  //    per revision (each write here touches one key), each one an operation that was sent.
  const byValue = new Map<string, Op>();
  for (const op of ops) if (op.value) byValue.set(op.value, op);
  const writeAt = new Map<number, HistoryEvent>();
  let expected = baseRev + 1;
  for (const e of history) {
    if (writeAt.has(e.rev)) say(`two events at revision ${e.rev}`);
    else if (e.rev !== expected) say(`history jumps from revision ${expected - 1} to ${e.rev}`);
    writeAt.set(e.rev, e);
    expected = e.rev + 1;
    if (e.type === 'PUT' && !byValue.has(e.value))
      say(`revision ${e.rev} wrote ${e.key}=${e.value}, which no client sent`);
  }

  // 2. Per key, its states in revision order, to answer "what did key k hold at revision r".
  const states = new Map<string, { rev: number; state: KeyState }[]>();
  for (const e of history) {
    let list = states.get(e.key);
    if (!list) states.set(e.key, (list = []));
    list.push({ rev: e.rev, state: e.type === 'PUT' ? { value: e.value, mod: e.rev } : ABSENT });
  }
  const stateAt = (key: string, rev: number): KeyState => {
    const list = states.get(key);
    if (!list) return ABSENT;
    let lo = 0;
    let hi = list.length - 1;
    let found: KeyState = ABSENT;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.rev <= rev) {
        found = list[mid]!.state;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const same = (a: KeyState, b: KeyState): boolean => a.value === b.value && a.mod === b.mod;
  const fmt = (s: KeyState): string => (s.value === null ? 'absent' : `${s.value}@${s.mod}`);

  // 3. Each acknowledged operation against the history.
  const lastRev = expected - 1;
  for (const op of ops) {
    if (!op.ok) continue;
    if (op.rev > lastRev) say(`${show(op)}: header beyond the history's last revision ${lastRev}`);
    const isWrite =
      op.kind === 'put' || (op.kind === 'cas' && op.succeeded) || (op.deleted ?? 0) > 0;
    if (isWrite) {
      const e = writeAt.get(op.rev);
      const ok =
        e !== undefined &&
        e.key === op.key &&
        (op.kind === 'delete' ? e.type === 'DELETE' : e.type === 'PUT' && e.value === op.value);
      if (!ok)
        say(
          `${show(op)}: acknowledged, but revision ${op.rev} in the history is ${JSON.stringify(e)}`,
        );
    }
    if (op.kind === 'get' || (op.kind === 'cas' && !op.succeeded)) {
      const want = stateAt(op.key, op.rev);
      if (!same(want, op.seen!))
        say(
          `${show(op)}: saw ${fmt(op.seen!)}, but the key held ${fmt(want)} at revision ${op.rev}`,
        );
    }
    if (op.kind === 'cas') {
      const before = stateAt(op.key, op.succeeded ? op.rev - 1 : op.rev);
      if (op.succeeded !== (before.mod === op.expectMod))
        say(
          `${show(op)}: compare mod==${op.expectMod} ${op.succeeded ? 'succeeded' : 'failed'} ` +
            `while the key held ${fmt(before)}`,
        );
    }
    if (op.kind === 'delete') {
      const before = stateAt(op.key, op.deleted ? op.rev - 1 : op.rev);
      if ((op.deleted ?? 0) !== (before.value === null ? 0 : 1))
        say(`${show(op)}: deleted ${op.deleted} while the key held ${fmt(before)}`);
    }
  }
  // Every write in the history is an operation that was sent and did not fail otherwise.
  for (const e of history) {
    if (e.type !== 'PUT') continue;
    const op = byValue.get(e.value);
    if (op?.ok && op.rev !== e.rev)
      say(`revision ${e.rev} holds ${e.value}, acknowledged at revision ${op.rev}`);
  }

  // 4. Real-time order: an operation that began after another ended does not see an older
  //    revision, and a write that began after another ended gets a higher one.
  const done = ops.filter((op) => op.ok).sort((a, b) => a.end - b.end);
  const started = [...done].sort((a, b) => a.start - b.start);
  let j = 0;
  let maxEnded: Op | undefined;
  for (const op of started) {
    while (j < done.length && done[j]!.end < op.start) {
      if (!maxEnded || done[j]!.rev > maxEnded.rev) maxEnded = done[j];
      j++;
    }
    if (!maxEnded) continue;
    const isWrite =
      op.kind === 'put' || (op.kind === 'cas' && op.succeeded) || (op.deleted ?? 0) > 0;
    if (op.rev < maxEnded.rev || (isWrite && op.rev <= maxEnded.rev))
      say(`${show(op)} began after ${show(maxEnded)} ended, but has an older revision`);
  }
  return bad;
}

/**
 * The list-then-watch pattern (Kubernetes reflectors, config caches) under concurrent writers:
 * while `writers` clients put and delete keys under `prefix`, readers list the prefix again
 * and again, and after each list at revision R open a watch from R + 1 that applies its events
 * to a cache seeded by that list. Once the writers stop and every watch has caught up with the
 * final revision, every cache must equal the store. Returns the differences (empty: none).
 */
export async function listThenWatch(
  endpoint: string,
  o: { prefix: string; writers: number; writesPerClient: number; keys: number; readers: number },
): Promise<string[]> {
  const end = prefixEnd(o.prefix);
  const kv = new Client(endpoint);
  let writing = true;
  const writer = async (id: number): Promise<void> => {
    const c = new Client(endpoint);
    try {
      for (let i = 0; i < o.writesPerClient; i++) {
        const key = Buffer.from(`${o.prefix}${(id + i * 7) % o.keys}`, 'latin1');
        if (Math.random() < 0.2) await c.call('DeleteRange', { key }, 10_000);
        else await c.call('Put', { key, value: Buffer.from(`w${id}.${i}`) }, 10_000);
      }
    } finally {
      c.close();
    }
  };
  const list = async (via = kv): Promise<{ rev: number; cache: Map<string, string> }> => {
    const res = await via.call(
      'Range',
      { key: Buffer.from(o.prefix, 'latin1'), range_end: end },
      10_000,
    );
    const cache = new Map<string, string>();
    for (const k of (res['kvs'] as Wire[] | undefined) ?? [])
      cache.set((k['key'] as Buffer).toString('latin1'), kvState(k).value!);
    return { rev: revOf(res), cache };
  };
  const client = new (services().Watch)(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  interface Cache {
    rev: number;
    seen: number;
    cache: Map<string, string>;
    call: grpc.ClientDuplexStream<Wire, Wire>;
  }
  const caches: Cache[] = [];
  const watchFrom = (rev: number, cache: Map<string, string>): void => {
    const call = (client as unknown as { Watch(): grpc.ClientDuplexStream<Wire, Wire> }).Watch();
    const c: Cache = { rev, seen: rev, cache, call };
    call.on('data', (m: Wire) => {
      for (const e of (m['events'] as Wire[] | undefined) ?? []) {
        const k = e['kv'] as Wire;
        const key = (k['key'] as Buffer).toString('latin1');
        if (e['type'] === 'DELETE') cache.delete(key);
        else cache.set(key, kvState(k).value!);
        c.seen = Math.max(c.seen, Number(k['mod_revision']));
      }
    });
    call.on('error', () => undefined);
    call.write({
      create_request: {
        key: Buffer.from(o.prefix, 'latin1'),
        range_end: end,
        start_revision: String(rev + 1),
      },
    });
    caches.push(c);
  };
  const reader = async (): Promise<void> => {
    // List while the writers run, so each list races their commits.
    const c = new Client(endpoint);
    try {
      while (writing) {
        const { rev, cache } = await list(c);
        watchFrom(rev, cache);
        await new Promise((r) => setTimeout(r, Math.random() * 10));
      }
    } finally {
      c.close();
    }
  };
  const readers = Array.from({ length: o.readers }, () => reader());
  await Promise.all(Array.from({ length: o.writers }, (_, i) => writer(i)));
  writing = false;
  await Promise.all(readers);
  try {
    const final = await list();
    const deadline = Date.now() + 20_000;
    while (caches.some((c) => c.seen < final.rev) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const diffs: string[] = [];
    for (const c of caches) {
      const diff: string[] = [];
      if (c.seen < final.rev) diff.push(`events only up to ${c.seen} of ${final.rev}`);
      for (const [k, v] of final.cache)
        if (c.cache.get(k) !== v)
          diff.push(`${k}: store ${v}, cache ${c.cache.get(k) ?? 'absent'}`);
      for (const [k, v] of c.cache)
        if (!final.cache.has(k)) diff.push(`${k}: store absent, cache ${v}`);
      if (diff.length)
        diffs.push(`listed at revision ${c.rev}, watched from ${c.rev + 1}: ${diff.join('; ')}`);
    }
    if (caches.length < o.readers * 5) diffs.push(`only ${caches.length} lists were made`);
    return diffs;
  } finally {
    for (const c of caches) c.call.cancel();
    client.close();
    kv.close();
  }
}
