/**
 * HPACK without sockets (src/transport/wire/hpack.ts): the decoder against RFC 7541 Appendix C,
 * its limits and the field validity it marks (RFC 9113 §8.2.1), and the stateless encoder.
 *
 * Run: npx tsc -p . && node --test dist/test/unit/transport/hpack.test.js
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeInteger,
  encodeHeaderBlock,
  HpackDecoder,
  HpackError,
  huffmanCodes,
  huffmanDecode,
  type HeaderField,
} from '../../../src/transport/wire/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (fields: HeaderField[]): [string, string][] => fields.map((f) => [f.name, f.value]);

/** A test-side Huffman encoder (the server never Huffman-encodes). */
function huffmanEncode(s: string): Buffer {
  const codes = huffmanCodes();
  let acc = 0n;
  let bits = 0n;
  for (const ch of Buffer.from(s, 'latin1')) {
    const c = codes[ch]!;
    acc = (acc << BigInt(c.bits)) | BigInt(c.code);
    bits += BigInt(c.bits);
  }
  const pad = (8n - (bits % 8n)) % 8n;
  acc = (acc << pad) | ((1n << pad) - 1n);
  bits += pad;
  const out = Buffer.alloc(Number(bits / 8n));
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(acc & 0xffn);
    acc >>= 8n;
  }
  return out;
}

void test('C.1: integers with N-bit prefixes', () => {
  assert.deepEqual(decodeInteger(hex('0a'), 0, 5), [10, 1]);
  assert.deepEqual(decodeInteger(hex('1f9a0a'), 0, 5), [1337, 3]);
  assert.deepEqual(decodeInteger(hex('2a'), 0, 8), [42, 1]);
  assert.deepEqual(
    decodeInteger(hex('ff9a0a'), 0, 5),
    [1337, 3],
    'bits above the prefix are ignored',
  );
  assert.throws(() => decodeInteger(hex('1f9a'), 0, 5), HpackError);
  assert.throws(() => decodeInteger(hex('1fffffffff7f'), 0, 5), HpackError, 'overflow');
});

void test('C.2: the four header field representations', () => {
  const cases: [string, [string, string][], [string, string][], boolean][] = [
    [
      '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      [['custom-key', 'custom-header']],
      [['custom-key', 'custom-header']],
      false,
    ],
    ['040c 2f73 616d 706c 652f 7061 7468', [[':path', '/sample/path']], [], false],
    ['1008 7061 7373 776f 7264 0673 6563 7265 74', [['password', 'secret']], [], true],
    ['82', [[':method', 'GET']], [], false],
  ];
  for (const [enc, want, table, sensitive] of cases) {
    const d = new HpackDecoder();
    const fields = d.decode(hex(enc));
    assert.deepEqual(pairs(fields), want);
    assert.equal(fields[0]!.sensitive === true, sensitive);
    assert.deepEqual(d.dynamicTable().entries, table);
  }
  assert.equal(
    (() => {
      const d = new HpackDecoder();
      d.decode(hex(cases[0]![0]));
      return d.dynamicTable().size;
    })(),
    55,
  );
});

interface Step {
  enc: string;
  want: [string, string][];
  table: [string, string][];
  size: number;
}

function series(tableSize: number, steps: Step[]): void {
  const d = new HpackDecoder(tableSize);
  steps.forEach((s, i) => {
    assert.deepEqual(pairs(d.decode(hex(s.enc))), s.want, `step ${i + 1} fields`);
    const t = d.dynamicTable();
    assert.deepEqual(t.entries, s.table, `step ${i + 1} dynamic table`);
    assert.equal(t.size, s.size, `step ${i + 1} table size`);
  });
}

const REQ1: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2: [string, string][] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const REQ_TABLES: [string, string][][] = [
  [[':authority', 'www.example.com']],
  [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
  [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
];

void test('C.3: requests without Huffman, dynamic table evolution', () => {
  series(4096, [
    {
      enc: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      want: REQ1,
      table: REQ_TABLES[0]!,
      size: 57,
    },
    { enc: '8286 84be 5808 6e6f 2d63 6163 6865', want: REQ2, table: REQ_TABLES[1]!, size: 110 },
    {
      enc: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      want: REQ3,
      table: REQ_TABLES[2]!,
      size: 164,
    },
  ]);
});

void test('C.4: requests with Huffman', () => {
  series(4096, [
    {
      enc: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      want: REQ1,
      table: REQ_TABLES[0]!,
      size: 57,
    },
    { enc: '8286 84be 5886 a8eb 1064 9cbf', want: REQ2, table: REQ_TABLES[1]!, size: 110 },
    {
      enc: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      want: REQ3,
      table: REQ_TABLES[2]!,
      size: 164,
    },
  ]);
});

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESP: [string, string][][] = [
  [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOC],
  ],
  [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOC],
  ],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', DATE2],
    ['location', LOC],
    ['content-encoding', 'gzip'],
    ['set-cookie', COOKIE],
  ],
];
const RESP_TABLES: [string, string][][] = [
  [
    ['location', LOC],
    ['date', DATE1],
    ['cache-control', 'private'],
    [':status', '302'],
  ],
  [
    [':status', '307'],
    ['location', LOC],
    ['date', DATE1],
    ['cache-control', 'private'],
  ],
  [
    ['set-cookie', COOKIE],
    ['content-encoding', 'gzip'],
    ['date', DATE2],
  ],
];

void test('C.5: responses without Huffman, 256-octet table with evictions', () => {
  series(256, [
    {
      enc: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d`,
      want: RESP[0]!,
      table: RESP_TABLES[0]!,
      size: 222,
    },
    { enc: '4803 3330 37c1 c0bf', want: RESP[1]!, table: RESP_TABLES[1]!, size: 222 },
    {
      enc: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31`,
      want: RESP[2]!,
      table: RESP_TABLES[2]!,
      size: 215,
    },
  ]);
});

void test('C.6: responses with Huffman, 256-octet table with evictions', () => {
  series(256, [
    {
      enc: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      want: RESP[0]!,
      table: RESP_TABLES[0]!,
      size: 222,
    },
    { enc: '4883 640e ffc1 c0bf', want: RESP[1]!, table: RESP_TABLES[1]!, size: 222 },
    {
      enc: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      want: RESP[2]!,
      table: RESP_TABLES[2]!,
      size: 215,
    },
  ]);
});

void test('Huffman: the RFC 7541 Appendix B code, complete, and every byte round-trips', () => {
  const codes = huffmanCodes();
  assert.equal(codes.length, 257);
  assert.deepEqual(codes[0], { code: 0x1ff8, bits: 13 });
  assert.deepEqual(codes[10], { code: 0x3ffffffc, bits: 30 });
  assert.deepEqual(codes[0x30], { code: 0x0, bits: 5 }); // '0'
  assert.deepEqual(codes[0x61], { code: 0x3, bits: 5 }); // 'a'
  assert.deepEqual(codes[0x7e], { code: 0x1ffd, bits: 13 }); // '~'
  assert.deepEqual(codes[255], { code: 0x3ffffee, bits: 26 });
  assert.deepEqual(codes[256], { code: 0x3fffffff, bits: 30 }); // EOS
  const kraft = codes.reduce((sum, c) => sum + 2 ** -c.bits, 0);
  assert.equal(kraft, 1);
  let all = '';
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  assert.equal(huffmanDecode(huffmanEncode(all)), all);
  assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')), 'www.example.com');
  assert.equal(huffmanDecode(Buffer.alloc(0)), '');
});

void test('Huffman: padding rules and EOS', () => {
  assert.equal(huffmanDecode(Buffer.from([0x07])), '0', "'0' + 3 bits of EOS prefix");
  assert.throws(() => huffmanDecode(Buffer.from([0x00])), HpackError, 'padding with zeros');
  assert.throws(() => huffmanDecode(hex('6402 ff')), HpackError, 'padding longer than 7 bits');
  assert.throws(() => huffmanDecode(hex('ffff ffff')), HpackError, 'EOS inside the string');
});

void test('decoder: malformed blocks are compression errors', () => {
  const bad = [
    '80', // index 0
    'be', // index 62 with an empty dynamic table
    '82 20', // table size update after a field
    '3fe2ff03', // table size update to 65537, above the limit
    '3fe21f', // table size update to 4097: above the 4096 we advertise (the default)
    '4005 6162', // string shorter than its length
    '40', // literal without its name
  ];
  for (const b of bad) assert.throws(() => new HpackDecoder().decode(hex(b)), HpackError, b);
  const d = new HpackDecoder();
  d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  d.decode(hex('20')); // size update to 0 evicts everything
  assert.deepEqual(d.dynamicTable(), { entries: [], size: 0 });
  d.decode(hex('3fe11f')); // back to 4096
  d.decode(hex('418c f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
  assert.equal(d.dynamicTable().entries.length, 1);
  const small = new HpackDecoder(4096, 65536, 100);
  assert.throws(
    () => small.decode(encodeHeaderBlock([{ name: 'x', value: 'y'.repeat(100) }])),
    HpackError,
  );
});

void test('encoder: static indices and literals without indexing, never the dynamic table', () => {
  const fields: HeaderField[] = [
    { name: ':method', value: 'POST' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: '/etcdserverpb.KV/Range' },
    { name: ':authority', value: '127.0.0.1:2379' },
    { name: 'content-type', value: 'application/grpc' },
    { name: 'te', value: 'trailers' },
    { name: 'token', value: 'secret', sensitive: true },
    { name: 'x-bin', value: '\u0000\u00ff'.repeat(700) },
  ];
  const enc = encodeHeaderBlock(fields);
  assert.equal(enc[0], 0x83, ':method POST is static index 3');
  assert.equal(enc[1], 0x86, ':scheme http is static index 6');
  assert.equal(enc[2], 0x04, ':path: literal without indexing, static name 4');
  const d = new HpackDecoder();
  assert.deepEqual(
    d.decode(enc).map(({ invalid: _i, ...f }) => f),
    fields.map((f) => (f.sensitive ? f : { name: f.name, value: f.value })),
  );
  assert.deepEqual(d.dynamicTable(), { entries: [], size: 0 });
});

void test('decoder: marks fields a request may not carry, keeps the HPACK state whole', () => {
  const d = new HpackDecoder();
  const fields = d.decode(
    encodeHeaderBlock([
      { name: ':path', value: '/ok' },
      { name: 'Upper-Case', value: 'x' },
      { name: 'x-nul', value: 'a\u0000b' },
      { name: 'x-lf', value: 'a\nb' },
      { name: 'x-space', value: ' padded' },
      { name: 'x sp', value: 'v' },
      { name: 'fine', value: 'a b\tc' },
    ]),
  );
  assert.deepEqual(
    fields.map((f) => [f.name, f.invalid === true]),
    [
      [':path', false],
      ['Upper-Case', true],
      ['x-nul', true],
      ['x-lf', true],
      ['x-space', true],
      ['x sp', true],
      ['fine', false],
    ],
  );
  // An invalid field added to the dynamic table stays invalid when referenced by index later.
  const withIndexing = Buffer.concat([
    Buffer.from([0x40, 3]),
    Buffer.from('BAD'),
    Buffer.from([1]),
    Buffer.from('v'),
  ]);
  assert.equal(d.decode(withIndexing)[0]!.invalid, true);
  assert.equal(d.decode(Buffer.from([0xbe]))[0]!.invalid, true, 'index 62: the entry just added');
});
