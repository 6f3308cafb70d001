// gRPC message framing (src/transport/grpc/framing.ts): reassembly across DATA chunks,
// refusal of compressed and oversized messages from their prefix, grpc-message encoding.
//
// Run: npx tsc -p . && node --test dist/test/unit/transport/grpc-framing.test.js

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RpcError } from '../../../src/errors.js';
import { serviceType } from '../../../src/api/codec.js';
import { frameBytes } from '../../../src/api/rpc.js';
import {
  encodeFrame,
  encodeGrpcMessage,
  FrameReader,
} from '../../../src/transport/grpc/framing.js';
import { frame } from '../../helpers/grpc-frames.js';

function collect(reader: FrameReader, chunks: Buffer[]): string[] {
  const got: string[] = [];
  for (const c of chunks) reader.push(c, (m) => got.push(m.toString()));
  return got;
}

function rpcError(code: number, message: string) {
  return (e: unknown) => {
    assert.ok(e instanceof RpcError, `expected RpcError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
}

describe('FrameReader', () => {
  const wire = Buffer.concat([
    frame(Buffer.from('first')),
    frame(Buffer.alloc(0)),
    frame(Buffer.from('third message')),
  ]);

  test('several frames in one chunk come out in order', () => {
    assert.deepEqual(collect(new FrameReader(100), [wire]), ['first', '', 'third message']);
  });

  test('every split of the stream gives the same messages', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = new FrameReader(100);
      const got = collect(r, [wire.subarray(0, cut), wire.subarray(cut)]);
      assert.deepEqual(got, ['first', '', 'third message'], `cut at ${cut}`);
      assert.equal(r.partial, false);
    }
  });

  test('one byte at a time', () => {
    const r = new FrameReader(100);
    const bytes = [...wire].map((b) => Buffer.from([b]));
    assert.deepEqual(collect(r, bytes), ['first', '', 'third message']);
  });

  test('partial is true while a prefix or body is incomplete', () => {
    const r = new FrameReader(100);
    const f = frame(Buffer.from('abc'));
    r.push(f.subarray(0, 2), () => assert.fail('no message yet'));
    assert.equal(r.partial, true);
    r.push(f.subarray(2, 6), () => assert.fail('no message yet'));
    assert.equal(r.partial, true);
    let got = '';
    r.push(f.subarray(6), (m) => (got = m.toString()));
    assert.equal(got, 'abc');
    assert.equal(r.partial, false);
  });

  test('a compressed message is refused with grpc-go text', () => {
    assert.throws(
      () => new FrameReader(100).push(frame(Buffer.from('x'), 1), () => undefined),
      rpcError(13, 'grpc: compressed flag set with identity or empty encoding'),
    );
  });

  test('an oversized message is refused from its prefix alone', () => {
    const r = new FrameReader(10);
    const prefix = Buffer.from([0, 0, 0, 0, 11]);
    assert.throws(
      () => r.push(prefix, () => assert.fail('nothing to deliver')),
      rpcError(8, 'grpc: received message larger than max (11 vs. 10)'),
    );
    // exactly the limit is accepted
    assert.deepEqual(collect(new FrameReader(10), [frame(Buffer.alloc(10, 120))]), [
      'x'.repeat(10),
    ]);
  });
});

describe('encodeFrame / frameBytes', () => {
  test('a response frames as prefix plus its protobuf encoding', () => {
    const res = serviceType('etcdserverpb.KV').methods['Put']!.resolvedResponseType!;
    const msg = { header: { revision: 7, raft_term: 2 } };
    const f = encodeFrame(res, msg);
    const body = Buffer.from(res.encode(msg).finish());
    assert.equal(f[0], 0);
    assert.equal(f.readUInt32BE(1), body.length);
    assert.deepEqual(f.subarray(5), body);
    assert.deepEqual(frameBytes(body), f);
  });

  test('an empty message is a bare prefix', () => {
    const res = serviceType('etcdserverpb.KV').methods['Put']!.resolvedResponseType!;
    assert.deepEqual(encodeFrame(res, {}), Buffer.from([0, 0, 0, 0, 0]));
  });
});

describe('encodeGrpcMessage', () => {
  test('printable ASCII passes unchanged', () => {
    const s = 'etcdserver: requested lease not found';
    assert.equal(encodeGrpcMessage(s), s);
  });

  test("'%', controls and non-ASCII are percent-encoded over UTF-8", () => {
    assert.equal(encodeGrpcMessage('100% done'), '100%25 done');
    assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
    assert.equal(encodeGrpcMessage('ключ'), '%D0%BA%D0%BB%D1%8E%D1%87');
    assert.equal(decodeURIComponent(encodeGrpcMessage('ключ 100%')), 'ключ 100%');
  });
});
