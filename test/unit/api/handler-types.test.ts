// The typed handler contract (src/api/rpc.ts over src/proto/generated.ts) refuses, at compile
// time, handlers that do not match the protos: each @ts-expect-error below must meet an error,
// or `tsc -p .` fails. The runtime tests check that typed handlers reach transports unchanged.
//
// Run: npx tsc -p . && node --test dist/test/unit/api/handler-types.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  duplex,
  serverStream,
  unary,
  untypedHandlers,
  type ServiceHandlersOf,
} from '../../../src/api/rpc.js';
import type { Transport } from '../../../src/transport/transport.js';

const header = { revision: 1 };

void test('a handler gets its request view and may return its response Init', async () => {
  const kv: ServiceHandlersOf<'etcdserverpb.KV'> = {
    Range: unary((req) => ({ header, count: req.key.length, kvs: [{ key: req.key, lease: 3 }] })),
    Put: unary(async (req) => {
      await Promise.resolve();
      return req.prev_kv ? { header, prev_kv: { key: req.key } } : {};
    }),
  };
  const range = untypedHandlers(kv)['Range'];
  assert.equal(range?.kind, 'unary');
  assert.equal(untypedHandlers(kv)['Txn'], undefined);
  const ctx = { meta: () => undefined, requestBytes: 0 };
  const req = { key: Buffer.from('ab') } as never;
  if (range?.kind === 'unary')
    assert.deepEqual(await range.fn(req, ctx), {
      header,
      count: 2,
      kvs: [{ key: Buffer.from('ab'), lease: 3 }],
    });
});

void test('streaming methods take their own kinds', () => {
  const watch: ServiceHandlersOf<'etcdserverpb.Watch'> = {
    Watch: duplex((stream) => {
      stream.onMessage((req) => {
        if (req.create_request) stream.write({ header, created: true, watch_id: 1 });
      });
    }),
  };
  const health: ServiceHandlersOf<'grpc.health.v1.Health'> = {
    Watch: serverStream((req, stream) => {
      stream.write({ status: req.service === '' ? 1 : 3 });
    }),
  };
  assert.equal(untypedHandlers(watch)['Watch']?.kind, 'duplex');
  assert.equal(untypedHandlers(health)['Watch']?.kind, 'serverStream');
});

void test('handlers that do not match the protos do not compile', () => {
  const refused: ServiceHandlersOf<'etcdserverpb.KV'>[] = [
    // @ts-expect-error -- RangeResponse has no field kvz
    { Range: unary(() => ({ header, kvz: [] })) },
    // @ts-expect-error -- nor has KeyValue a field leese, however deep
    { Range: unary((req) => ({ kvs: [{ key: req.key, leese: 1 }] })) },
    // @ts-expect-error -- a missing field in a promised response too
    { Put: unary(() => Promise.resolve({ header, prevKv: null })) },
    // @ts-expect-error -- int64 fields take numbers and Longs, not bigints
    { Range: unary(() => ({ count: 1n })) },
    // @ts-expect-error -- RangeRequest has no field end
    { Range: unary((req) => ({ count: req.end.length })) },
    // @ts-expect-error -- KV has no method Get
    { Get: unary(() => ({})) },
    // @ts-expect-error -- Range is unary, not bidirectional
    { Range: duplex(() => undefined) },
  ];
  const watch: ServiceHandlersOf<'etcdserverpb.Watch'> = {
    Watch: duplex((stream) => {
      // @ts-expect-error -- stream writes are checked as well
      stream.write({ header, watchId: 1 });
    }),
  };
  // A transport serves a service only with handlers of that service.
  const register = (t: Transport): void => {
    // @ts-expect-error -- Watch handlers are not KV handlers
    t.addService('etcdserverpb.KV', watch);
    // @ts-expect-error -- no such service
    t.addService('etcdserverpb.Kv', {});
    t.addService('etcdserverpb.Watch', watch);
  };
  assert.equal(refused.length, 7);
  assert.equal(typeof register, 'function');
});
