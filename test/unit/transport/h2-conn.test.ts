// Our HTTP/2 server connection (src/transport/wire/h2-conn.ts) against node:http2's client (an independent
// HTTP/2 implementation: nghttp2) and against hand-written frames: flow control in both
// directions, many streams, resets, SETTINGS, PING, CONTINUATION and padding, GOAWAY, the errors
// that close a connection, and the drain signal streaming calls use for backpressure.
//
// Run: npx tsc -p . && node --test dist/test/unit/transport/h2-conn.test.js

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  H2,
  H2Connection,
  type H2ConnOptions,
  type H2Stream,
} from '../../../src/transport/wire/h2-conn.js';
import { encodeHeaderBlock } from '../../../src/transport/wire/hpack.js';
import { h2Frame, RawH2, type RawFrame } from '../../helpers/raw-h2.js';

const RESPONSE = encodeHeaderBlock([
  { name: ':status', value: '200' },
  { name: 'content-type', value: 'application/octet-stream' },
]);
const TRAILERS = encodeHeaderBlock([{ name: 'x-done', value: 'yes' }]);

type Handler = (s: H2Stream, headers: Record<string, string | undefined>) => void;

/** Echoes the request body, `times` over, after the request ends. */
const echo =
  (times = 1): Handler =>
  (s) => {
    const parts: Buffer[] = [];
    s.onData = (d) => parts.push(Buffer.from(d));
    s.onEnd = () => {
      const body = Buffer.concat(parts);
      s.respond(RESPONSE);
      for (let i = 0; i < times; i++) s.write(body);
      s.end(TRAILERS);
    };
  };

interface Served {
  port: number;
  conns: H2Connection[];
  errors: string[];
  close(): Promise<void>;
}

async function serve(handler: Handler, opts: Partial<H2ConnOptions> = {}): Promise<Served> {
  const conns: H2Connection[] = [];
  const errors: string[] = [];
  const server = net.createServer((socket) => {
    conns.push(
      new H2Connection(socket, {
        maxConcurrentStreams: 1000,
        streamWindow: 1 << 20,
        connectionWindow: 16 << 20,
        onStream: handler,
        onError: (m) => errors.push(m),
        ...opts,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    errors,
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
}

/** One POST through node's HTTP/2 client; resolves with the response body and trailers. */
function post(
  session: http2.ClientHttp2Session,
  body: Buffer,
): Promise<{ status: number; body: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/echo' });
    let status = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('error', reject);
    req.on('end', () => resolve({ status, body: Buffer.concat(parts), trailers }));
    req.end(body);
  });
}

function connect(port: number, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`, { settings });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const pattern = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
};

describe('h2-conn with node:http2 as the client', { timeout: 20_000 }, () => {
  test('a response far larger than the client windows arrives whole, in order', async () => {
    const srv = await serve(echo(8));
    // 1000-byte stream windows: every few frames the server must wait for WINDOW_UPDATE.
    const session = await connect(srv.port, { initialWindowSize: 1000 });
    try {
      const body = pattern(100_000);
      const res = await post(session, body);
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 800_000);
      for (let i = 0; i < 8; i++)
        assert.ok(res.body.subarray(i * 100_000, (i + 1) * 100_000).equals(body));
      assert.equal(res.trailers['x-done'], 'yes');
    } finally {
      session.close();
      await srv.close();
    }
  });

  test('request bodies beyond our receive windows keep flowing (WINDOW_UPDATE)', async () => {
    // Small windows on our side: without top-ups the client stalls after 100 KB.
    const srv = await serve(echo(1), { streamWindow: 65535, connectionWindow: 100_000 });
    const session = await connect(srv.port);
    try {
      const body = pattern(3_000_000);
      const res = await post(session, body);
      assert.ok(res.body.equals(body));
    } finally {
      session.close();
      await srv.close();
    }
  });

  test('300 concurrent streams on one connection each get their own answer', async () => {
    const srv = await serve(echo(1));
    const session = await connect(srv.port);
    try {
      const all = await Promise.all(
        Array.from({ length: 300 }, (_, i) => post(session, Buffer.from(`request ${i}`))),
      );
      all.forEach((r, i) => assert.equal(r.body.toString(), `request ${i}`));
      assert.equal(srv.conns[0]!.openStreams, 0);
    } finally {
      session.close();
      await srv.close();
    }
  });

  test('a client reset closes the stream on our side; the connection keeps serving', async () => {
    let closed = 0;
    const srv = await serve((s, h) => {
      if (h[':path'] === '/hang') {
        s.onClose(() => closed++);
        s.respond(RESPONSE);
        s.write(Buffer.from('first'));
        return;
      }
      echo(1)(s, h);
    });
    const session = await connect(srv.port);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/hang' });
      req.on('error', () => undefined);
      await new Promise((r) => req.once('data', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
      const res = await post(session, Buffer.from('after'));
      assert.equal(res.body.toString(), 'after');
      assert.equal(closed, 1);
    } finally {
      session.close();
      await srv.close();
    }
  });

  test('goAway lets the open stream finish, refuses nothing already taken, then closes', async () => {
    let pending: H2Stream | null = null;
    const srv = await serve((s) => {
      pending = s;
      s.onEnd = () => undefined;
    });
    const session = await connect(srv.port);
    try {
      const res = post(session, Buffer.from('x'));
      const goaway = new Promise((r) => session.once('goaway', r));
      while (pending === null) await new Promise((r) => setTimeout(r, 5));
      srv.conns[0]!.goAway();
      await goaway;
      const s = pending as H2Stream;
      s.respond(RESPONSE);
      s.write(Buffer.from('late'));
      s.end(TRAILERS);
      assert.equal((await res).body.toString(), 'late');
      await new Promise<void>((r) => srv.conns[0]!.onClose(r));
    } finally {
      session.destroy();
      await srv.close();
    }
  });

  test('write backpressure: the drain callback fires once the client reads again', async () => {
    let stream: H2Stream | null = null;
    const srv = await serve((s) => {
      stream = s;
      s.respond(RESPONSE);
    });
    // The client's stream window (16 KB) fills at once; the rest waits in our queue.
    const session = await connect(srv.port, { initialWindowSize: 16384 });
    try {
      const req = session.request({ ':method': 'POST', ':path': '/stream' });
      req.pause();
      while (stream === null) await new Promise((r) => setTimeout(r, 5));
      const s = stream as H2Stream;
      const chunk = pattern(64 * 1024);
      for (let i = 0; i < 8; i++) s.write(chunk);
      assert.ok(s.buffered > 256 * 1024, `buffered ${s.buffered}`);
      let drained = false;
      s.whenBelow(256 * 1024, () => (drained = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(drained, false, 'drained while the client was not reading');
      let got = 0;
      req.on('data', (d: Buffer) => (got += d.length));
      req.resume();
      while (!drained) await new Promise((r) => setTimeout(r, 5));
      s.end(TRAILERS);
      await new Promise((r) => req.once('end', r));
      assert.equal(got, 8 * 64 * 1024);
    } finally {
      session.close();
      await srv.close();
    }
  });
});

// ---- hand-written frames --------------------------------------------------------------------

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const SETTINGS = h2Frame(4, 0, 0);
const goAwayCode = (f: RawFrame): number => f.payload.readUInt32BE(4);

describe('h2-conn with hand-written frames', { timeout: 20_000 }, () => {
  let srv: Served;
  const seen: Record<string, string | undefined>[] = [];
  before(async () => {
    srv = await serve(
      (s, h) => {
        seen.push(h);
        echo(1)(s, h);
      },
      { maxConcurrentStreams: 2 },
    );
  });
  after(() => srv.close());

  test('our SETTINGS come first; the client SETTINGS are acknowledged; PING is answered', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    c.send(PREFACE, SETTINGS, h2Frame(6, 0, 0, Buffer.from('12345678')));
    await c.frame((f) => f.type === 4 && f.flags === 1, 'SETTINGS ACK');
    assert.equal(c.frames[0]!.type, 4);
    assert.equal(c.frames[0]!.flags, 0);
    const pong = await c.frame((f) => f.type === 6, 'PING ACK');
    assert.equal(pong.flags, 1);
    assert.equal(pong.payload.toString(), '12345678');
    c.socket.destroy();
  });

  test('a header block in HEADERS + CONTINUATION, padded and with priority, opens a stream', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const block = encodeHeaderBlock([
      { name: ':method', value: 'POST' },
      { name: ':scheme', value: 'http' },
      { name: ':path', value: '/split' },
      { name: ':authority', value: 'http://whole.url:2379/' },
      { name: 'x-meta', value: 'v'.repeat(100) },
    ]);
    // HEADERS: PADDED (3 bytes) | PRIORITY, first 10 bytes of the block; the rest in CONTINUATION.
    const head = Buffer.concat([
      Buffer.from([3]),
      Buffer.alloc(5),
      block.subarray(0, 10),
      Buffer.alloc(3),
    ]);
    c.send(
      PREFACE,
      SETTINGS,
      h2Frame(1, 0x08 | 0x20, 1, head),
      h2Frame(9, 0, 1, block.subarray(10, 40)),
      h2Frame(9, 0x4, 1, block.subarray(40)),
      h2Frame(
        0,
        0x08 | 0x1,
        1,
        Buffer.concat([Buffer.from([2]), Buffer.from('hi'), Buffer.alloc(2)]),
      ),
    );
    const data = await c.frame((f) => f.type === 0 && f.stream === 1, 'DATA');
    assert.equal(data.payload.toString(), 'hi');
    await c.frame((f) => f.type === 1 && f.stream === 1 && (f.flags & 1) === 1, 'trailers');
    const h = seen.find((x) => x[':path'] === '/split')!;
    assert.equal(h[':authority'], 'http://whole.url:2379/');
    assert.equal(h['x-meta'], 'v'.repeat(100));
    c.socket.destroy();
  });

  test('streams over SETTINGS_MAX_CONCURRENT_STREAMS are refused', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const block = encodeHeaderBlock([
      { name: ':method', value: 'POST' },
      { name: ':scheme', value: 'http' },
      { name: ':path', value: '/open' },
    ]);
    // Three streams left open (no END_STREAM): the third is over the limit of 2.
    c.send(
      PREFACE,
      SETTINGS,
      h2Frame(1, 0x4, 1, block),
      h2Frame(1, 0x4, 3, block),
      h2Frame(1, 0x4, 5, block),
    );
    const rst = await c.frame((f) => f.type === 3, 'RST_STREAM');
    assert.equal(rst.stream, 5);
    assert.equal(rst.payload.readUInt32BE(0), H2.REFUSED_STREAM);
    c.socket.destroy();
  });

  test('a bad preface, an oversized frame and a stray CONTINUATION close the connection with GOAWAY', async (t) => {
    const cases: [Buffer[], number][] = [
      [[Buffer.from('PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n')], H2.PROTOCOL_ERROR],
      [[PREFACE, SETTINGS, h2Frame(0, 0, 1, Buffer.alloc(16385))], H2.FRAME_SIZE_ERROR],
      [[PREFACE, SETTINGS, h2Frame(9, 0x4, 1, Buffer.from([0x82]))], H2.PROTOCOL_ERROR],
      [
        [PREFACE, SETTINGS, h2Frame(1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0x7f]))],
        H2.COMPRESSION_ERROR,
      ],
      [[PREFACE, SETTINGS, h2Frame(8, 0, 0, Buffer.from([0, 0, 0, 0]))], H2.PROTOCOL_ERROR],
    ];
    for (const [bytes, code] of cases) {
      const c = await RawH2.connect(t, srv.port);
      c.send(...bytes);
      const ga = await c.frame((f) => f.type === 7, `GOAWAY ${code}`);
      assert.equal(goAwayCode(ga), code);
      await c.until(() => c.ended, 'the connection to close');
    }
  });

  test('a new INITIAL_WINDOW_SIZE applies to open streams: a stalled response resumes', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const block = encodeHeaderBlock([
      { name: ':method', value: 'POST' },
      { name: ':scheme', value: 'http' },
      { name: ':path', value: '/window' },
    ]);
    const zeroWindow = Buffer.alloc(6);
    zeroWindow.writeUInt16BE(4, 0); // INITIAL_WINDOW_SIZE 0
    c.send(
      PREFACE,
      h2Frame(4, 0, 0, zeroWindow),
      h2Frame(1, 0x4, 1, block),
      h2Frame(0, 0x1, 1, Buffer.from('held back')),
    );
    await c.frame((f) => f.type === 1 && f.stream === 1, 'response headers');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.frames.filter((f) => f.type === 0).length, 0, 'DATA sent into a zero window');
    const open = Buffer.alloc(6);
    open.writeUInt16BE(4, 0);
    open.writeUInt32BE(65535, 2);
    c.send(h2Frame(4, 0, 0, open));
    const data = await c.frame(
      (f) => f.type === 0 && f.stream === 1,
      'DATA after the window opened',
    );
    assert.equal(data.payload.toString(), 'held back');
    c.socket.destroy();
  });
});

const REQ = (path: string, extra: { name: string; value: string }[] = []): Buffer =>
  encodeHeaderBlock([
    { name: ':method', value: 'POST' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: path },
    ...extra,
  ]);

describe('h2-conn strictness (RFC 9113, RFC 7541)', { timeout: 20_000 }, () => {
  let srv: Served;
  before(async () => {
    // Streams stay open until the client ends them: the echo answers after END_STREAM.
    srv = await serve(echo(1), { streamWindow: 65535 });
  });
  after(() => srv.close());

  const rstOn = async (c: RawH2, id: number): Promise<number> =>
    (
      await c.frame((f) => f.type === 3 && f.stream === id, `RST_STREAM on ${id}`)
    ).payload.readUInt32BE(0);
  const goAway = async (c: RawH2): Promise<number> => {
    const code = goAwayCode(await c.frame((f) => f.type === 7, 'GOAWAY'));
    await c.until(() => c.ended, 'the connection to close');
    return code;
  };

  test('a new stream with an ID below one already used is a connection error', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    c.send(PREFACE, SETTINGS, h2Frame(1, 0x4, 5, REQ('/a')), h2Frame(1, 0x4, 3, REQ('/b')));
    assert.equal(await goAway(c), H2.PROTOCOL_ERROR);
  });

  test('DATA beyond the stream window resets the stream; beyond the connection window, GOAWAY', async (t) => {
    // The answer is never read (the client's window is 0), so the server holds back credit.
    const stuck = await serve(
      (st) => {
        st.respond(RESPONSE);
        st.write(Buffer.alloc(100_000));
      },
      { streamWindow: 65535 },
    );
    const zeroWindow = Buffer.alloc(6);
    zeroWindow.writeUInt16BE(4, 0);
    const chunk = Buffer.alloc(16384);
    try {
      const c = await RawH2.connect(t, stuck.port);
      // 65535 of window; five 16 KiB frames are 81920 bytes.
      c.send(
        PREFACE,
        h2Frame(4, 0, 0, zeroWindow),
        h2Frame(1, 0x4, 1, REQ('/w')),
        ...Array.from({ length: 5 }, () => h2Frame(0, 0, 1, chunk)),
      );
      assert.equal(await rstOn(c, 1), H2.FLOW_CONTROL_ERROR);
      assert.ok(!c.frames.some((f) => f.type === 8 && f.stream === 1), 'no credit for stream 1');
    } finally {
      await stuck.close();
    }
    // Answers piling up past the write backlog hold back the connection's credit too.
    const small = await serve(
      (st) => {
        st.respond(RESPONSE);
        st.write(Buffer.alloc(100_000));
      },
      { streamWindow: 1 << 20, connectionWindow: 65535, maxWriteBacklog: 50_000 },
    );
    try {
      const d = await RawH2.connect(t, small.port);
      d.send(
        PREFACE,
        h2Frame(4, 0, 0, zeroWindow),
        h2Frame(1, 0x4, 1, REQ('/w')),
        ...Array.from({ length: 5 }, () => h2Frame(0, 0, 1, chunk)),
      );
      assert.equal(await goAway(d), H2.FLOW_CONTROL_ERROR);
    } finally {
      await small.close();
    }
  });

  test('an HPACK table size update above the 4096 we advertise is a compression error', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    // 001xxxxx with 4097: 0x3f, then 4066 as 0xe2 0x1f.
    const block = Buffer.concat([Buffer.from([0x3f, 0xe2, 0x1f]), REQ('/t')]);
    c.send(PREFACE, SETTINGS, h2Frame(1, 0x5, 1, block));
    assert.equal(await goAway(c), H2.COMPRESSION_ERROR);
  });

  test('malformed requests are reset with PROTOCOL_ERROR and the connection goes on', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const bad: Buffer[] = [
      REQ('/u', [{ name: 'X-Upper', value: 'v' }]),
      encodeHeaderBlock([
        { name: ':method', value: 'POST' },
        { name: ':path', value: '/no-scheme' },
      ]),
      REQ('/c', [{ name: 'connection', value: 'keep-alive' }]),
      REQ('/te', [{ name: 'te', value: 'gzip' }]),
      REQ('/p', [{ name: ':status', value: '200' }]),
      REQ(''),
      REQ('/cl', [{ name: 'content-length', value: '5' }]),
    ];
    c.send(PREFACE, SETTINGS);
    let id = 1;
    for (const b of bad) {
      c.send(h2Frame(1, 0x5, id, b));
      assert.equal(await rstOn(c, id), H2.PROTOCOL_ERROR, `stream ${id}`);
      id += 2;
    }
    // content-length that disagrees with the body
    c.send(
      h2Frame(1, 0x4, id, REQ('/cl', [{ name: 'content-length', value: '3' }])),
      h2Frame(0, 0x1, id, Buffer.from('four')),
    );
    assert.equal(await rstOn(c, id), H2.PROTOCOL_ERROR, 'content-length mismatch');
    id += 2;
    // A well-formed request on the same connection is still served.
    c.send(h2Frame(1, 0x4, id, REQ('/fine')), h2Frame(0, 0x1, id, Buffer.from('ok')));
    const data = await c.frame((f) => f.type === 0 && f.stream === id, 'the answer');
    assert.equal(data.payload.toString(), 'ok');
    c.socket.destroy();
  });

  test('PRIORITY of the wrong length resets the stream; WINDOW_UPDATE on an idle stream is fatal', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    c.send(PREFACE, SETTINGS, h2Frame(1, 0x4, 1, REQ('/p')), h2Frame(2, 0, 1, Buffer.alloc(4)));
    assert.equal(await rstOn(c, 1), H2.FRAME_SIZE_ERROR);
    c.send(h2Frame(8, 0, 9, Buffer.from([0, 0, 0, 1])));
    assert.equal(await goAway(c), H2.PROTOCOL_ERROR);
  });

  test('PINGs: three in a row with nothing sent between them end the connection', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const ping = h2Frame(6, 0, 0, Buffer.from('12345678'));
    c.send(PREFACE, SETTINGS, ping, ping, ping);
    await c.until(() => c.frames.filter((f) => f.type === 6).length === 3, 'three PING ACKs');
    assert.ok(!c.frames.some((f) => f.type === 7), 'two strikes are allowed');
    c.send(ping);
    const ga = await c.frame((f) => f.type === 7, 'GOAWAY');
    assert.equal(goAwayCode(ga), H2.ENHANCE_YOUR_CALM);
    assert.equal(ga.payload.subarray(8).toString(), 'too_many_pings');
  });

  test('a PING after the server sent HEADERS or DATA is not a strike', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const ping = h2Frame(6, 0, 0, Buffer.from('12345678'));
    c.send(PREFACE, SETTINGS);
    for (let i = 0, id = 1; i < 6; i++, id += 2) {
      c.send(ping, h2Frame(1, 0x4, id, REQ('/x')), h2Frame(0, 0x1, id, Buffer.from('y')));
      await c.frame((f) => f.type === 1 && f.stream === id && (f.flags & 1) === 1, `answer ${id}`);
    }
    assert.ok(!c.frames.some((f) => f.type === 7), 'no GOAWAY');
    c.socket.destroy();
  });

  test('resets of streams still being served are budgeted: past the burst, GOAWAY', async (t) => {
    const hold = await serve(() => undefined, { resetBurst: 50, resetsPerSecond: 1 });
    try {
      const c = await RawH2.connect(t, hold.port);
      const frames: Buffer[] = [PREFACE, SETTINGS];
      for (let i = 0, id = 1; i < 60; i++, id += 2)
        frames.push(h2Frame(1, 0x4, id, REQ('/r')), h2Frame(3, 0, id, Buffer.from([0, 0, 0, 8])));
      c.send(...frames);
      const ga = await c.frame((f) => f.type === 7, 'GOAWAY');
      assert.equal(goAwayCode(ga), H2.ENHANCE_YOUR_CALM);
      assert.equal(ga.payload.readUInt32BE(0), 101, 'the last stream taken: the 51st');
    } finally {
      await hold.close();
    }
  });

  test('HEADERS + CONTINUATION: fragments are charged a frame header each; too many end it', async (t) => {
    const c = await RawH2.connect(t, srv.port);
    const empty = h2Frame(9, 0, 1);
    const many = Buffer.concat(Array.from({ length: 120_000 }, () => empty));
    c.send(PREFACE, SETTINGS, h2Frame(1, 0, 1, REQ('/big').subarray(0, 2)), many);
    const ga = await c.frame((f) => f.type === 7, 'GOAWAY');
    assert.equal(goAwayCode(ga), H2.ENHANCE_YOUR_CALM);
  });
});

describe('h2-conn write backlog', { timeout: 30_000 }, () => {
  test('a client that sends without reading stops being read once answers pile up', async () => {
    const srv = await serve(echo(1), { maxWriteBacklog: 64 * 1024 });
    const socket = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    try {
      socket.pause(); // not read: every SETTINGS ACK stays with the server once kernel buffers fill
      const n = 1_000_000;
      const settings = h2Frame(4, 0, 0, Buffer.from([0, 2, 0, 0, 0, 0])); // ENABLE_PUSH 0
      const many = Buffer.alloc(n * settings.length);
      for (let i = 0; i < n; i++) settings.copy(many, i * settings.length);
      socket.write(PREFACE);
      socket.write(many); // 15 MB of SETTINGS: far more ACKs than loopback buffers hold
      await new Promise((r) => setTimeout(r, 1000));
      const backlog = srv.conns[0]!.backlog;
      // Bounded by what one read chunk produces once the socket is full; megabytes without it.
      assert.ok(backlog < 256 * 1024, `server backlog ${backlog} bytes`);
      // Reading again drains it, and the connection is still whole: every SETTINGS is answered.
      let got = 0;
      socket.on('data', (d: Buffer) => (got += d.length));
      socket.resume();
      const want = n * 9; // one empty SETTINGS ACK each
      const deadline = Date.now() + 20_000;
      while (got < want) {
        if (Date.now() > deadline) throw new Error(`only ${got} of ${want} bytes of SETTINGS ACKs`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      socket.destroy();
      await srv.close();
    }
  });
});
