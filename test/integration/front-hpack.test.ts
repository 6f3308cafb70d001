/**
 * The client front's HTTP/2 pieces without sockets: the HPACK decoder against RFC 7541 Appendix C,
 * the stateless encoder, the authority rules, the first-request sniffer and the header rewriter
 * (every chunking of the same byte stream must give the same output).
 *
 * Run: npx tsc -p . && node --test dist/test/integration/front-hpack.test.js
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthorityRewriter,
  CLIENT_PREFACE,
  FirstRequestSniffer,
  H2FramingError,
} from '../../src/api/front-h2.js';
import {
  decodeInteger,
  encodeHeaderBlock,
  HpackDecoder,
  HpackError,
  huffmanCodes,
  huffmanDecode,
  isValidAuthority,
  sanitizeAuthority,
  type HeaderField,
} from '../../src/api/hpack.js';
import { h2Frame as frame } from '../helpers/raw-h2.js';

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

/** An HPACK string literal; `huffman` sets H. Lengths below 127 only. */
function lit(s: string, huffman = false): Buffer {
  const body = huffman ? huffmanEncode(s) : Buffer.from(s, 'latin1');
  assert.ok(body.length < 127);
  return Buffer.concat([Buffer.from([(huffman ? 0x80 : 0) | body.length]), body]);
}

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function parseFrames(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = buf.readUIntBE(off, 3);
    out.push({
      type: buf[off + 3]!,
      flags: buf[off + 4]!,
      stream: buf.readUInt32BE(off + 5),
      payload: buf.subarray(off + 9, off + 9 + len),
    });
    off += 9 + len;
  }
  assert.equal(off, buf.length, 'output ends on a frame boundary');
  return out;
}

/** Feeds `input` to a fresh rewriter in chunks of `size` bytes; returns the joined output. */
function rewriteInChunks(input: Buffer, size: number, stripAck = false): Buffer {
  const rw = new AuthorityRewriter(stripAck);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) out.push(...rw.push(input.subarray(i, i + size)));
  return Buffer.concat(out);
}

const HEADERS = 0x1;
const DATA = 0x0;
const SETTINGS = 0x4;
const PING = 0x6;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

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
    d.decode(enc),
    fields.map((f) => (f.sensitive ? f : { name: f.name, value: f.value })),
  );
  assert.deepEqual(d.dynamicTable(), { entries: [], size: 0 });
});

void test('authority: nghttp2 rule and the host:port fallback', () => {
  for (const ok of ['127.0.0.1:2379', '[::1]:2379', 'localhost', '', 'user@host:1', 'a-b_c.d~e'])
    assert.ok(isValidAuthority(ok), ok);
  for (const bad of [
    'http://127.0.0.1:2379',
    'unix:///tmp/x.sock',
    'a b',
    'h\u00e9',
    'h{1}',
    'a\\b',
  ])
    assert.ok(!isValidAuthority(bad), bad);
  const cases: [string, string][] = [
    ['http://127.0.0.1:2379', '127.0.0.1:2379'],
    ['https://[::1]:2379/', '[::1]:2379'],
    ['unix:///tmp/etcd.sock', 'localhost'],
    ['unix://localhost:2379', 'localhost:2379'],
    ['unixs://etcd.sock:0/x', 'etcd.sock:0'],
    ['host:1/path?q#f', 'host:1'],
    ['a b:1', 'ab:1'],
  ];
  for (const [input, want] of cases) {
    assert.equal(sanitizeAuthority(input), want, input);
    assert.ok(isValidAuthority(sanitizeAuthority(input)));
  }
});

/** A client byte stream (after the preface) like grpc-go's, with Huffman and indexing. */
function clientStream(): { input: Buffer; data: Buffer } {
  const data = Buffer.from('\x00\x00\x00\x00\x05hello', 'latin1');
  const block1 = Buffer.concat([
    hex('83 86'), // POST, http
    Buffer.from([0x44]), // :path, incremental indexing, static name 4
    lit('/etcdserverpb.Maintenance/Status', true),
    Buffer.from([0x41]), // :authority, incremental indexing
    lit('http://127.0.0.1:2379', true),
    Buffer.from([0x40]),
    lit('content-type'),
    lit('application/grpc', true),
  ]);
  // Dynamic table now: content-type (62), :authority (63), :path (64).
  const block2 = hex('83 86 c0 bf be');
  return {
    input: Buffer.concat([
      frame(SETTINGS, 0, 0, hex('0003 0000 0064')),
      frame(WINDOW_UPDATE, 0, 0, hex('0000 ffff')),
      frame(HEADERS, 0x4, 1, block1),
      frame(DATA, 0x1, 1, data),
      frame(PING, 0, 0, hex('0102 0304 0506 0708')),
      frame(HEADERS, 0x4 | 0x1, 3, block2),
    ]),
    data,
  };
}

void test('rewriter: every chunking gives the same output; only header blocks change', () => {
  const { input, data } = clientStream();
  const whole = rewriteInChunks(input, input.length);
  for (const size of [1, 2, 3, 5, 8, 9, 10, 17, 64])
    assert.deepEqual(rewriteInChunks(input, size), whole, `chunks of ${size}`);
  const frames = parseFrames(whole);
  assert.deepEqual(
    frames.map((f) => [f.type, f.flags, f.stream]),
    [
      [SETTINGS, 0, 0],
      [WINDOW_UPDATE, 0, 0],
      [HEADERS, 0x4, 1],
      [DATA, 0x1, 1],
      [PING, 0, 0],
      [HEADERS, 0x5, 3],
    ],
  );
  assert.deepEqual(frames[3]!.payload, data);
  const d = new HpackDecoder();
  const want: [string, string][] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/etcdserverpb.Maintenance/Status'],
    [':authority', '127.0.0.1:2379'],
    ['content-type', 'application/grpc'],
  ];
  assert.deepEqual(pairs(d.decode(frames[2]!.payload)), want);
  assert.deepEqual(pairs(d.decode(frames[5]!.payload)), want, 'indexed from the client table');
  assert.deepEqual(d.dynamicTable().entries, [], 'the output never indexes');
  const rw = new AuthorityRewriter();
  rw.push(input);
  assert.equal(rw.rewrites, 2);
  assert.equal(rw.firstRewritten, 'http://127.0.0.1:2379');
});

void test('rewriter: PADDED and PRIORITY dropped, CONTINUATION joined, large blocks split', () => {
  const block = Buffer.concat([hex('83 86 84'), Buffer.from([0x01]), lit('unix:///tmp/e.sock')]);
  const padded = Buffer.concat([
    Buffer.from([3]),
    hex('8000 0001 10'),
    block.subarray(0, 2),
    Buffer.alloc(3),
  ]);
  const input = Buffer.concat([
    frame(HEADERS, 0x8 | 0x20 | 0x1, 5, padded), // PADDED, PRIORITY, END_STREAM, no END_HEADERS
    frame(CONTINUATION, 0, 5, block.subarray(2, 4)),
    frame(CONTINUATION, 0x4, 5, block.subarray(4)),
  ]);
  for (const size of [1, 4, input.length]) {
    const frames = parseFrames(rewriteInChunks(input, size));
    assert.equal(frames.length, 1);
    assert.deepEqual([frames[0]!.type, frames[0]!.flags, frames[0]!.stream], [HEADERS, 0x5, 5]);
    assert.deepEqual(pairs(new HpackDecoder().decode(frames[0]!.payload)), [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'localhost'],
    ]);
  }
  const big = encodeHeaderBlock([
    { name: ':authority', value: 'http://h:1' },
    { name: 'x-big', value: 'v'.repeat(40000) },
  ]);
  const frames = parseFrames(rewriteInChunks(frame(HEADERS, 0x5, 7, big), 1000));
  assert.deepEqual(
    frames.map((f) => [f.type, f.flags, f.stream, f.payload.length <= 16384]),
    [
      [HEADERS, 0x1, 7, true],
      [CONTINUATION, 0, 7, true],
      [CONTINUATION, 0x4, 7, true],
    ],
  );
  const fields = new HpackDecoder().decode(Buffer.concat(frames.map((f) => f.payload)));
  assert.deepEqual(pairs(fields), [
    [':authority', 'h:1'],
    ['x-big', 'v'.repeat(40000)],
  ]);
});

void test('rewriter: SETTINGS ACK of the front dropped once; framing errors throw', () => {
  const ack = frame(SETTINGS, 0x1, 0, Buffer.alloc(0));
  assert.equal(rewriteInChunks(Buffer.concat([ack, ack]), 1, true).length, 9, 'second ACK kept');
  assert.equal(rewriteInChunks(ack, 9, false).length, 9);
  const errors: [string, Buffer, typeof H2FramingError | typeof HpackError][] = [
    ['CONTINUATION without HEADERS', frame(CONTINUATION, 0x4, 1, hex('82')), H2FramingError],
    [
      'DATA inside a header block',
      Buffer.concat([frame(HEADERS, 0, 1, hex('82')), frame(DATA, 0, 1, Buffer.alloc(1))]),
      H2FramingError,
    ],
    [
      'CONTINUATION on another stream',
      Buffer.concat([frame(HEADERS, 0, 1, hex('82')), frame(CONTINUATION, 0x4, 3, hex('84'))]),
      H2FramingError,
    ],
    ['padding longer than the frame', frame(HEADERS, 0x8 | 0x4, 1, hex('0982')), H2FramingError],
    ['bad HPACK', frame(HEADERS, 0x4, 1, hex('80')), HpackError],
  ];
  for (const [name, input, type] of errors)
    assert.throws(() => rewriteInChunks(input, 3), type, name);
});

void test('sniffer: answers and removes PINGs and its SETTINGS ACK, finds the first block', () => {
  const settings = frame(SETTINGS, 0, 0, hex('0003 0000 0064'));
  const ping = frame(PING, 0, 0, hex('1122 3344 5566 7788'));
  const s = new FirstRequestSniffer(Buffer.concat([CLIENT_PREFACE, settings, ping.subarray(0, 5)]));
  assert.deepEqual(s.push(), []);
  const replies = s.push(ping.subarray(5));
  assert.deepEqual(replies, [frame(PING, 0x1, 0, hex('1122 3344 5566 7788'))]);
  assert.deepEqual(s.buffered, Buffer.concat([CLIENT_PREFACE, settings]));
  s.settingsSent();
  const headers = frame(HEADERS, 0, 1, hex('8286'));
  const cont = frame(CONTINUATION, 0x4, 1, hex('84'));
  s.push(Buffer.concat([frame(SETTINGS, 0x1, 0, Buffer.alloc(0)), headers]));
  assert.equal(s.block, null);
  assert.ok(s.ackSeen);
  s.push(cont);
  assert.deepEqual(s.block, hex('8286 84'));
  assert.deepEqual(s.buffered, Buffer.concat([CLIENT_PREFACE, settings, headers, cont]));

  const early = new FirstRequestSniffer(
    Buffer.concat([CLIENT_PREFACE, frame(SETTINGS, 0x1, 0, Buffer.alloc(0))]),
  );
  early.push();
  assert.equal(early.ackSeen, false, 'an ACK before the front sent SETTINGS is not its own');
  assert.equal(early.buffered.length, CLIENT_PREFACE.length + 9);
  const broken = new FirstRequestSniffer(
    Buffer.concat([
      CLIENT_PREFACE,
      frame(HEADERS, 0, 1, hex('82')),
      frame(PING, 0, 0, Buffer.alloc(8)),
    ]),
  );
  assert.throws(() => broken.push(), H2FramingError);
});
