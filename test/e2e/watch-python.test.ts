// python-etcd3 0.12 (Debian's /usr/bin/python3) watching a real etcd and our server
// (subprocess): watch, watch_prefix, watch_once (and its timeout), add_watch_callback,
// add_watch_prefix_callback, cancel_watch, prev_kv, RevisionCompactedError and
// progress notifications. The two JSON transcripts must be identical. (python-etcd3 0.12
// cannot send filters with this protobuf: assigning the repeated field raises.)
//
// Run: npx tsc -p . && node --test dist/test/e2e/watch-python.test.js

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { valueDiff } from '../helpers/diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { describeRun, python, pythonEtcd3SkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { makeTmpDir } from '../helpers/tmpdir.js';

const SCRIPT = String.raw`
import json, queue, sys, threading, time
import etcd3

host, port = sys.argv[1], int(sys.argv[2])
c = etcd3.client(host=host, port=port)
T = []

def log(step, value):
    T.append([step, value])

def ev(e):
    d = {'type': type(e).__name__, 'key': e.key.decode('latin1'), 'mod': e.mod_revision}
    if isinstance(e, etcd3.events.PutEvent):
        d.update(value=e.value.decode(), create=e.create_revision, version=e.version)
    if e._event.HasField('prev_kv'):
        d['prev'] = e._event.prev_kv.value.decode()
    return d

def later(delay, fn):
    t = threading.Thread(target=lambda: (time.sleep(delay), fn()))
    t.start()
    return t

def take(it, n):
    out = []
    for e in it:
        out.append(ev(e))
        if len(out) == n:
            break
    return out

base = int(c.put('w/a', '0').header.revision)
log('base', base)

# watch(): a key, live, with prev_kv
events, cancel = c.watch('w/a', prev_kv=True)
def w1():
    c.put('w/a', '1'); c.put('w/b', 'x'); c.delete('w/a')
later(0.2, w1)
log('watch', take(events, 2))
cancel()

# watch_prefix(): replay from a past revision, then live
events, cancel = c.watch_prefix('w/', start_revision=base)
later(0.2, lambda: c.put('w/c', 'live'))
log('watch_prefix', take(events, 5))
cancel()

# watch_once, and its timeout
later(0.3, lambda: c.put('w/once', 'hit'))
log('watch_once', ev(c.watch_once('w/once', timeout=10)))
try:
    c.watch_once('w/never', timeout=0.5)
    log('watch_once timeout', 'no exception')
except etcd3.exceptions.WatchTimedOut:
    log('watch_once timeout', 'WatchTimedOut')

# callbacks and cancel_watch
q1, q2 = queue.Queue(), queue.Queue()
id1 = c.add_watch_callback('w/cb', q1.put)
id2 = c.add_watch_prefix_callback('w/p', q2.put, prev_kv=True)
log('callback ids', [id1, id2])
c.put('w/cb', '1'); c.put('w/p1', 'a'); c.put('w/p1', 'b')
r1 = q1.get(timeout=10)
got2 = [q2.get(timeout=10), q2.get(timeout=10)]
log('callback 1', {'rev': r1.header.revision, 'events': [ev(e) for e in r1.events]})
log('callback 2', [{'rev': r.header.revision, 'events': [ev(e) for e in r.events]} for r in got2])
c.cancel_watch(id1)
c.cancel_watch(id2)
c.put('w/cb', '2'); c.put('w/p1', 'c')
time.sleep(0.5)
log('after cancel', [q1.qsize(), q2.qsize()])

# RevisionCompactedError from a compacted start revision
cur = int(c.put('w/z', 'z').header.revision)
c.compact(cur - 1, physical=True)
events, cancel = c.watch('w/a', start_revision=base)
try:
    take(events, 1)
    log('compacted', 'no exception')
except etcd3.exceptions.RevisionCompactedError as e:
    log('compacted', {'error': 'RevisionCompactedError', 'compacted_revision': e.compacted_revision})

# progress notifications (server interval 500ms): empty responses at the current revision
q3 = queue.Queue()
id3 = c.add_watch_callback('w/quiet', q3.put, progress_notify=True)
r = q3.get(timeout=10)
log('progress', {'rev': r.header.revision, 'events': len(r.events)})
c.cancel_watch(id3)

# a watch on a key that is deleted by a range delete
events, cancel = c.watch('w/p1')
later(0.2, lambda: c.delete_prefix('w/'))
log('delete_prefix', take(events, 1))
cancel()

# the ids a second series of watchers gets on the same stream
ids = []
for k in ['w/x1', 'w/x2', 'w/x3']:
    ids.append(c.add_watch_callback(k, lambda r: None))
log('ids', ids)

print(json.dumps({'transcript': T}))
sys.stdout.flush()
import os
os._exit(0)
`;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const skip = realEtcdSkipReason() ?? ourServerSkipReason();

async function runScenario(script: string, server: ServerHandle): Promise<Json> {
  const r = await python([script, server.host, String(server.port)], { timeoutMs: 120_000 });
  assert.equal(
    r.code,
    0,
    `the watch scenario failed against ${server.kind}:\n${describeRun(r)}\n--- server output ---\n${server.logs().slice(-4000)}`,
  );
  return (JSON.parse(r.stdout) as { transcript: Json }).transcript;
}

test('python-etcd3 watch API: transcript matches real etcd', async (t) => {
  const pySkip = await pythonEtcd3SkipReason();
  if (pySkip ?? skip) {
    t.skip(pySkip ?? skip);
    return;
  }
  const tmp = await makeTmpDir('watch-py');
  const script = path.join(tmp.path, 'watch_scenario.py');
  await writeFile(script, SCRIPT);
  const extraArgs = ['--experimental-watch-progress-notify-interval', '500ms'];
  const [realS, oursS] = await Promise.allSettled([
    startRealEtcd({ name: 'wpy', extraArgs }),
    startOurServer({ name: 'wpy', extraArgs }),
  ]);
  t.after(async () => {
    if (realS.status === 'fulfilled') await realS.value.destroy();
    if (oursS.status === 'fulfilled') await oursS.value.destroy();
    await tmp.remove();
  });
  if (realS.status === 'rejected') throw realS.reason;
  if (oursS.status === 'rejected') throw oursS.reason;
  const [real, ours] = await Promise.all([
    runScenario(script, realS.value),
    runScenario(script, oursS.value),
  ]);
  if (process.env.WATCH_TEST_DEBUG) console.log(JSON.stringify(real, null, 1));
  const diffs = valueDiff(real, ours);
  assert.equal(
    diffs.length,
    0,
    `python-etcd3 watch transcript differs from real etcd:\n${diffs.join('\n')}`,
  );
});
