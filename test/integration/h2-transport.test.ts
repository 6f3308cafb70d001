// Our gRPC transport (own HTTP/2 framing) at the HTTP/2 level, side by side with the real etcd:
// the same raw requests (unknown services and methods, compressed, oversized, truncated and
// malformed messages, content-type variants, split DATA frames, malformed and passing
// grpc-timeouts) must get the same :status, content-type, grpc-status and grpc-message. Also:
// several watch requests in one DATA frame, a client reset mid-stream, deadlines, and the
// grpc-js fallback transport still serving.
//
// Run: npx tsc -p . && node --test dist/test/integration/h2-transport.test.js

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { serviceType } from '../../src/api/codec.js';
import { EtcdGrpcClient } from '../helpers/grpc-client.js';
import { inProcessSkipReason, startInProcess } from '../helpers/in-process.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { frame } from '../helpers/grpc-frames.js';

const skipReason = realEtcdSkipReason() ?? inProcessSkipReason();

interface Outcome {
  /** HTTP :status, undefined when the stream was reset without a response. */
  status?: number | undefined;
  contentType?: string | undefined;
  grpcStatus?: string | undefined;
  grpcMessage?: string | undefined;
  /** Status in the response headers (trailers-only) rather than in trailers. */
  trailersOnly: boolean;
  messages: Buffer[];
}

function splitFrames(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p + 5 <= data.length;) {
    const len = data.readUInt32BE(p + 1);
    out.push(data.subarray(p + 5, p + 5 + len));
    p += 5 + len;
  }
  return out;
}

const encodeReq = (service: string, method: string, msg: object): Uint8Array =>
  serviceType(service).methods[method]!.resolvedRequestType!.encode(msg).finish();
const decodeRes = (service: string, method: string, body: Buffer): Record<string, unknown> =>
  serviceType(service).methods[method]!.resolvedResponseType!.decode(body);

/** One raw HTTP/2 request on its own connection; `chunks` are written one by one. */
function rawCall(
  endpoint: string,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  chunks: Buffer[],
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${endpoint}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let res: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const data: Buffer[] = [];
    stream.on('response', (h) => (res = h));
    stream.on('trailers', (h) => (trailers = h));
    stream.on('data', (d: Buffer) => data.push(d));
    stream.on('error', () => undefined); // a reset shows as a missing status
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 5000);
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      const st = trailers ?? res;
      const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
      resolve({
        status: res?.[':status'] === undefined ? undefined : Number(res[':status']),
        contentType: one(res?.['content-type']),
        grpcStatus: one(st?.['grpc-status']),
        grpcMessage: one(st?.['grpc-message']),
        trailersOnly: res !== undefined && trailers === undefined && 'grpc-status' in res,
        messages: splitFrames(Buffer.concat(data)),
      });
    });
    for (const c of chunks) stream.write(c);
    stream.end();
  });
}

const rangeA = frame(encodeReq('etcdserverpb.KV', 'Range', { key: Buffer.from('a') }));

const CASES: [string, string, http2.OutgoingHttpHeaders, Buffer[]][] = [
  ['unknown service', '/etcdserverpb.Nope/Range', {}, [rangeA]],
  ['unknown method', '/etcdserverpb.KV/Nope', {}, [rangeA]],
  ['a well-formed range', '/etcdserverpb.KV/Range', {}, [rangeA]],
  [
    'a range split into one-byte DATA frames',
    '/etcdserverpb.KV/Range',
    {},
    [...rangeA].map((b) => Buffer.from([b])),
  ],
  ['two messages on a unary call', '/etcdserverpb.KV/Range', {}, [rangeA, rangeA]],
  ['no message at all', '/etcdserverpb.KV/Range', {}, []],
  ['a message cut short', '/etcdserverpb.KV/Range', {}, [rangeA.subarray(0, rangeA.length - 1)]],
  [
    'the compressed flag',
    '/etcdserverpb.KV/Range',
    {},
    [frame(Buffer.from([0x0a, 0x01, 0x61]), 1)],
  ],
  ['grpc-encoding gzip', '/etcdserverpb.KV/Range', { 'grpc-encoding': 'gzip' }, [rangeA]],
  ['grpc-encoding identity', '/etcdserverpb.KV/Range', { 'grpc-encoding': 'identity' }, [rangeA]],
  ['a 256 MiB length prefix', '/etcdserverpb.KV/Range', {}, [Buffer.from([0, 0x10, 0, 0, 0])]],
  ['a truncated protobuf', '/etcdserverpb.KV/Range', {}, [frame(Buffer.from([0x0a, 0x05, 0x61]))]],
  [
    'content-type application/grpc+proto',
    '/etcdserverpb.KV/Range',
    { 'content-type': 'application/grpc+proto' },
    [rangeA],
  ],
  ['content-type text/plain', '/etcdserverpb.KV/Range', { 'content-type': 'text/plain' }, [rangeA]],
  ['no content-type', '/etcdserverpb.KV/Range', { 'content-type': undefined }, [rangeA]],
  [
    'content-type application/grpcx',
    '/etcdserverpb.KV/Range',
    { 'content-type': 'application/grpcx' },
    [rangeA],
  ],
  [
    'content-type application/grpc;charset=utf-8',
    '/etcdserverpb.KV/Range',
    { 'content-type': 'application/grpc;charset=utf-8' },
    [rangeA],
  ],
  ['GET instead of POST', '/etcdserverpb.KV/Range', { ':method': 'GET' }, [rangeA]],
  ['a path without a method', '/foo', {}, [rangeA]],
  ['the path /', '/', {}, [rangeA]],
  ['a malformed grpc-timeout', '/etcdserverpb.KV/Range', { 'grpc-timeout': 'soon' }, [rangeA]],
  ['a valid grpc-timeout', '/etcdserverpb.KV/Range', { 'grpc-timeout': '5S' }, [rangeA]],
  [
    // etcd's watch handler returns the context's error at the deadline: Unknown, after the
    // created response.
    'a watch that outlives its grpc-timeout',
    '/etcdserverpb.Watch/Watch',
    { 'grpc-timeout': '300m' },
    [
      frame(
        encodeReq('etcdserverpb.Watch', 'Watch', { create_request: { key: Buffer.from('a') } }),
      ),
    ],
  ],
  [
    'a put',
    '/etcdserverpb.KV/Put',
    {},
    [
      frame(
        encodeReq('etcdserverpb.KV', 'Put', { key: Buffer.from('a'), value: Buffer.from('1') }),
      ),
    ],
  ],
  [
    'a put over --max-request-bytes',
    '/etcdserverpb.KV/Put',
    {},
    [
      frame(
        encodeReq('etcdserverpb.KV', 'Put', {
          key: Buffer.from('big'),
          value: Buffer.alloc(1_600_000, 1),
        }),
      ),
    ],
  ],
];

/** What must match: everything but response bodies, whose headers carry different IDs. */
function comparable(o: Outcome) {
  return {
    status: o.status,
    contentType: o.contentType,
    grpcStatus: o.grpcStatus,
    grpcMessage: o.grpcMessage,
    trailersOnly: o.trailersOnly,
    messages: o.messages.length,
  };
}

for (const transport of ['wire'] as const)
  describe(`${transport} transport against the real etcd`, { skip: skipReason }, () => {
    let real: ServerHandle;
    let ours: ServerHandle;

    before(async () => {
      [real, ours] = await Promise.all([
        startRealEtcd({ name: `transport-${transport}` }),
        startInProcess({ logLevel: 'silent', grpcTransport: transport }),
      ]);
    });
    after(async () => {
      await Promise.all([real?.destroy(), ours?.destroy()]);
    });

    for (const [name, path, headers, chunks] of CASES) {
      test(name, async () => {
        const [r, o] = [
          await rawCall(real.endpoint, path, headers, chunks),
          await rawCall(ours.endpoint, path, headers, chunks),
        ];
        assert.deepEqual(comparable(o), comparable(r));
      });
    }

    test('a call whose deadline has passed is refused before any work, as grpc-go does', async () => {
      const put = frame(
        encodeReq('etcdserverpb.KV', 'Put', { key: Buffer.from('late'), value: Buffer.from('v') }),
      );
      const o = await rawCall(ours.endpoint, '/etcdserverpb.KV/Put', { 'grpc-timeout': '1n' }, [
        put,
      ]);
      assert.deepEqual([o.grpcStatus, o.grpcMessage], ['4', 'context deadline exceeded']);
      const got = await rawCall(ours.endpoint, '/etcdserverpb.KV/Range', {}, [
        frame(encodeReq('etcdserverpb.KV', 'Range', { key: Buffer.from('late') })),
      ]);
      const res = decodeRes('etcdserverpb.KV', 'Range', got.messages[0]!);
      assert.equal((res['kvs'] as unknown[]).length, 0, 'the put was not applied');
    });

    test('a truncated protobuf reads as unexpected EOF, as in Go', async () => {
      const o = await rawCall(ours.endpoint, '/etcdserverpb.KV/Range', {}, [
        frame(Buffer.from([0x0a, 0x05, 0x61])),
      ]);
      assert.equal(o.grpcStatus, '13');
      assert.equal(o.grpcMessage, 'grpc: error unmarshalling request: unexpected EOF');
    });

    test('two watch creates in one DATA frame both get created', async () => {
      const create = (key: string, id: number) =>
        frame(
          encodeReq('etcdserverpb.Watch', 'Watch', {
            create_request: { key: Buffer.from(key), watch_id: id },
          }),
        );
      const both = Buffer.concat([create('w1', 5), create('w2', 6)]);
      const run = async (endpoint: string) => {
        const session = http2.connect(`http://${endpoint}`);
        try {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/etcdserverpb.Watch/Watch',
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          stream.on('error', () => undefined);
          const got: Record<string, unknown>[] = [];
          let buf = Buffer.alloc(0);
          const done = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${got.length} responses`)), 5000);
            stream.on('data', (d: Buffer) => {
              buf = Buffer.concat([buf, d]);
              const frames = splitFrames(buf);
              let used = 0;
              for (const f of frames) used += 5 + f.length;
              buf = buf.subarray(used);
              for (const f of frames) got.push(decodeRes('etcdserverpb.Watch', 'Watch', f));
              if (got.length >= 2) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
          stream.write(both);
          await done;
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return got.map((r) => ({ id: String(r['watch_id']), created: r['created'] }));
        } finally {
          session.close();
        }
      };
      const want = [
        { id: '5', created: true },
        { id: '6', created: true },
      ];
      assert.deepEqual(await run(real.endpoint), want);
      assert.deepEqual(await run(ours.endpoint), want);
    });

    test('a client reset mid-watch leaves the server serving', async () => {
      const session = http2.connect(`http://${ours.endpoint}`);
      const stream = session.request({
        ':method': 'POST',
        ':path': '/etcdserverpb.Watch/Watch',
        'content-type': 'application/grpc',
      });
      stream.on('error', () => undefined);
      stream.write(
        frame(
          encodeReq('etcdserverpb.Watch', 'Watch', { create_request: { key: Buffer.from('r') } }),
        ),
      );
      await new Promise((r) => stream.once('data', r));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
      const c = new EtcdGrpcClient(ours.endpoint);
      try {
        const put = await c.call('KV', 'Put', { key: Buffer.from('r'), value: Buffer.from('v') });
        assert.ok(put.ok, JSON.stringify(put));
      } finally {
        c.close();
      }
    });

    test('a non-gRPC content-type is reset without an answer, as grpc-go does', async () => {
      const o = await rawCall(
        ours.endpoint,
        '/etcdserverpb.KV/Range',
        { 'content-type': 'text/plain' },
        [rangeA],
      );
      assert.equal(o.status, undefined);
    });
  });

describe('the grpc-js fallback transport', { skip: inProcessSkipReason() }, () => {
  test('serves unary calls and watches', async () => {
    const ours = await startInProcess({ logLevel: 'silent', grpcTransport: 'grpc-js' });
    const c = new EtcdGrpcClient(ours.endpoint);
    try {
      const put = await c.call('KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('v') });
      assert.ok(put.ok, JSON.stringify(put));
      const got = await c.call('KV', 'Range', { key: Buffer.from('k') });
      assert.ok(got.ok);
      const kvs = got.response['kvs'] as { value: Buffer }[];
      assert.equal(kvs[0]!.value.toString(), 'v');
      const unknown = await rawCall(ours.endpoint, '/etcdserverpb.KV/Nope', {}, [rangeA]);
      assert.equal(unknown.grpcStatus, '12');
      // A watch: its events go out as pre-encoded frames, which grpc-js must send as they are.
      const etcd = new Etcd3({ hosts: `http://${ours.endpoint}` });
      try {
        const w = await etcd.watch().key('wk').withPreviousKV().create();
        const seen = new Promise<[string, string]>((resolve) =>
          w.on('put', (kv, prev) => resolve([kv.value.toString(), prev?.value.toString() ?? ''])),
        );
        await etcd.put('wk').value('1');
        const seen2 = await seen;
        assert.deepEqual(seen2, ['1', '']);
        const next = new Promise<[string, string]>((resolve) =>
          w.on('put', (kv, prev) => resolve([kv.value.toString(), prev?.value.toString() ?? ''])),
        );
        await etcd.put('wk').value('2');
        assert.deepEqual(await next, ['2', '1']);
        await w.cancel();
      } finally {
        etcd.close();
      }
    } finally {
      c.close();
      await ours.destroy();
    }
  });
});
