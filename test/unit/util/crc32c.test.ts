import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../../../src/util/crc32c.js';

/** One bit at a time, straight from the polynomial: the reference the tables must agree with. */
function bitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('CRC-32C of the published check values', () => {
  // The catalogue's check value, and RFC 3720 (iSCSI) appendix B.4.
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  // What etcd 3.4's HashKV answers for an empty store: the bucket name "key" alone.
  assert.equal(crc32c(Buffer.from('key')), 1084519789);
});

test('CRC-32C agrees with the bitwise definition at every length and alignment', () => {
  const data = Buffer.alloc(1000);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 70; len++) {
      const part = data.subarray(start, start + len);
      assert.equal(crc32c(part), bitwise(part), `start ${start}, length ${len}`);
    }
  }
  assert.equal(crc32c(data), bitwise(data));
});

test('CRC-32C continues from a previous result, as Go’s crc32.Update does', () => {
  const whole = Buffer.from('key\x00\x00\x00\x00\x00\x00\x00\x02_\x00\x00\x00\x00\x00\x00\x00\x00');
  for (let cut = 0; cut <= whole.length; cut++) {
    const crc = crc32c(whole.subarray(cut), crc32c(whole.subarray(0, cut)));
    assert.equal(crc, crc32c(whole), `split at ${cut}`);
  }
});
