/**
 * Durability: kill -9 the server while many clients write, restart it on the same data dir, and
 * check that every acknowledged write is there with its revision, that revisions continue, and
 * that no transaction is half-applied.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import type { ServerHandle } from '../helpers/server-process.js';

const skip = ourServerSkipReason();
let server: ServerHandle | undefined;

after(async () => {
  await server?.destroy();
});

const scenarios: { title: string; env: Record<string, string> }[] = [
  { title: 'kill -9 under write load loses no acknowledged write', env: {} },
  {
    // 64 KiB journal files: the journal moves between its files (and checkpoints LevelDB)
    // several times a second, so the kill lands around those moves too.
    title: 'kill -9 while the journal rotates every few hundred writes loses none',
    env: { ETCD_TS_JOURNAL_FILE_BYTES: String(64 * 1024) },
  },
];

for (const { title, env } of scenarios)
  test(title, { skip, timeout: 120_000 }, async () => {
    await server?.destroy();
    server = await startOurServer({ name: 'durability', env });
    const client = new Etcd3({ hosts: `http://${server.endpoint}`, dialTimeout: 2000 });
    const acked = new Map<string, { value: string; rev: number }>();
    const pairs: string[] = []; // txn-written pairs, acknowledged
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `d/${w}/${i}`;
        const value = `v${w}.${i}`;
        try {
          if (i % 5 === 0) {
            // Two keys in one txn: after the crash both exist or neither does.
            const res = await client
              .if(key, 'Create', '==', 0)
              .then(client.put(key).value(value), client.put(`${key}/pair`).value(value))
              .commit();
            pairs.push(key);
            acked.set(key, { value, rev: Number(res.header.revision) });
          } else {
            const res = await client.put(key).value(value).exec();
            acked.set(key, { value, rev: Number(res.header.revision) });
          }
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));
    // Let the load run, then crash the server mid-flight.
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill9();
    stop = true;
    await Promise.all(writers);
    client.close();
    assert.ok(acked.size > 100, `only ${acked.size} writes were acknowledged before the crash`);

    await server.restart();
    const after = new Etcd3({ hosts: `http://${server.endpoint}` });
    try {
      const all = await after.getAll().prefix('d/').exec();
      const found = new Map(all.kvs.map((kv) => [kv.key.toString(), kv]));
      let maxRev = 0;
      for (const [key, { value, rev }] of acked) {
        const kv = found.get(key);
        assert.ok(kv, `acknowledged key ${key} (revision ${rev}) is missing after restart`);
        assert.equal(kv.value.toString(), value);
        assert.equal(Number(kv.mod_revision), rev, `${key} has another revision after restart`);
        maxRev = Math.max(maxRev, rev);
      }
      for (const key of found.keys()) {
        if (key.endsWith('/pair')) {
          assert.ok(found.has(key.slice(0, -5)), `txn half-applied: ${key} without its partner`);
        } else if (key.split('/')[2] !== undefined && Number(key.split('/')[2]) % 5 === 0) {
          assert.ok(found.has(`${key}/pair`), `txn half-applied: ${key} without its pair`);
        }
      }
      const next = await after.put('after-restart').value('1').exec();
      assert.ok(Number(next.header.revision) > maxRev, 'revisions continue after the restart');
      assert.ok(pairs.length > 0);
    } finally {
      after.close();
    }
  });
