/**
 * The client front (src/transport/front.ts) with real sockets and real clients: grpc-js, a
 * hand-driven HTTP/2 client, raw sockets for what the front holds before the split, node:http
 * for HTTP/1.x, and the whole server with the npm etcd3 client. A tiny echo service answers with
 * the `:authority` grpc-js saw.
 *
 * Run: npx tsc -p . && node --test dist/test/integration/front.test.js
 */
import { SILENT_LOG } from '../../src/util/log.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { http1Server, listenClients, type ClientListeners } from '../../src/transport/front.js';
import type { Transport } from '../../src/transport/transport.js';
import { CLIENT_PREFACE } from '../../src/transport/wire/h2-frames.js';
import {
  encodeHeaderBlock,
  HpackDecoder,
  type HeaderField,
} from '../../src/transport/wire/hpack.js';
import { h2Frame as frame, RawH2 } from '../helpers/raw-h2.js';
import { startServer } from '../../src/index.js';

const quiet = SILENT_LOG;

/** A unary method whose messages pass as raw bytes both ways. */
const rawUnary = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});

const ECHO: grpc.ServiceDefinition = { Echo: rawUnary('/test.Front/Echo') };

type EchoClient = grpc.Client & {
  Echo(
    req: Buffer,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): void;
};
const EchoClientCtor = grpc.makeGenericClientConstructor(ECHO, 'Front') as unknown as new (
  target: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => EchoClient;

/** A bare grpc-js server as the front's transport, through its connection injector. */
function injected(server: grpc.Server): Transport {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  return {
    addService: () => undefined,
    serveConnection: (conn) => injector.injectConnection(conn),
    shutdown: () => {
      injector.destroy();
      return Promise.resolve();
    },
  };
}

/** A grpc-js server with the echo service (reply: "<authority seen>|<request>") behind the front. */
async function echoFront(
  t: TestContext,
  urls: string[],
  opts: Partial<Parameters<typeof listenClients>[2]> = {},
): Promise<{ front: ClientListeners; server: grpc.Server }> {
  const server = new grpc.Server({
    'grpc.max_concurrent_streams': 1000,
    'grpc.max_receive_message_length': -1,
  });
  server.addService(ECHO, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.concat([Buffer.from(`${call.getHost()}|`), call.request])),
  });
  const front = await listenClients(
    injected(server),
    urls.map((u) => new URL(u)),
    { logger: quiet, ...opts },
  );
  t.after(() =>
    front.close(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve()))),
  );
  return { front, server };
}

function echo(client: EchoClient, req: Buffer, md = new grpc.Metadata()): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.Echo(req, md, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

function newClient(t: TestContext, target: string, options: grpc.ChannelOptions = {}): EchoClient {
  const c = new EchoClientCtor(target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    ...options,
  });
  t.after(() => c.close());
  return c;
}

void test('grpc-js with a plain authority: the raw socket goes to grpc-js', async (t) => {
  const { front } = await echoFront(t, ['http://127.0.0.1:0']);
  assert.match(front.endpoint, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(front.urls, [`http://${front.endpoint}`]);
  const c = newClient(t, front.endpoint);
  assert.equal((await echo(c, Buffer.from('hi'))).toString(), `${front.endpoint}|hi`);
  assert.deepEqual({ ...front.stats }, { http2: 1, http1: 0, refused: 0 });
});

void test('ports bound before the transport exists: early clients wait, then get served', async (t) => {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.concat([Buffer.from('late|'), call.request])),
  });
  let provide!: (tr: Transport) => void;
  const later = new Promise<Transport>((resolve) => (provide = resolve));
  const front = await listenClients(later, [new URL('http://127.0.0.1:0')], { logger: quiet });
  t.after(() =>
    front.close(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve()))),
  );
  const c = newClient(t, front.endpoint);
  let answered = false;
  const call = echo(c, Buffer.from('hi')).then((b) => {
    answered = true;
    return b;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(answered, false, 'no transport yet: the call must wait');
  assert.equal(front.stats.http2, 0);
  provide(injected(server));
  assert.equal((await call).toString(), 'late|hi');
  assert.equal(front.stats.http2, 1);
});

void test('ports bound before the transport exists: a failed start closes waiting clients', async (t) => {
  let withdraw!: (err: unknown) => void;
  const never = new Promise<Transport>((_resolve, reject) => (withdraw = reject));
  const front = await listenClients(never, [new URL('http://127.0.0.1:0')], { logger: quiet });
  t.after(() => front.close());
  const [host, port] = front.endpoint.split(':');
  const socket = net.connect(Number(port), host);
  await new Promise((r) => socket.once('connect', r));
  const closed = new Promise((r) => socket.once('close', r));
  socket.on('error', () => undefined);
  socket.write(CLIENT_PREFACE);
  withdraw(new Error('restore failed'));
  await closed;
  assert.equal(front.stats.http2 + front.stats.http1, 0);
});

const SETTINGS = 0x4;
const GOAWAY = 0x7;
const HEADERS = 0x1;
const DATA = 0x0;

/** HEADERS + DATA of a unary echo call on stream `id`. */
function echoRequest(id: number, authority: string, body: string): Buffer {
  const fields: HeaderField[] = [
    { name: ':method', value: 'POST' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: '/test.Front/Echo' },
    { name: ':authority', value: authority },
    { name: 'content-type', value: 'application/grpc' },
    { name: 'te', value: 'trailers' },
  ];
  const msg = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), Buffer.from(body)]);
  return Buffer.concat([
    frame(HEADERS, 0x4, id, encodeHeaderBlock(fields)),
    frame(DATA, 0x1, id, msg),
  ]);
}

/** Waits for the echo reply on `id` and decodes it (one HPACK decoder per connection). */
async function echoReply(
  c: RawH2,
  d: HpackDecoder,
  id: number,
): Promise<{ status: string; grpcStatus: string; body: string }> {
  await c.until(
    () => c.frames.some((f) => f.stream === id && f.type === HEADERS && f.flags & 0x1),
    `reply on stream ${id}`,
  );
  let status = '';
  let grpcStatus = '';
  let body = Buffer.alloc(0);
  for (const f of c.frames) {
    if (f.type === HEADERS) {
      const fields = d.decode(f.payload); // every block, to keep the table in step
      if (f.stream !== id) continue;
      for (const h of fields) {
        if (h.name === ':status') status = h.value;
        if (h.name === 'grpc-status') grpcStatus = h.value;
      }
    } else if (f.type === DATA && f.stream === id) body = Buffer.concat([body, f.payload]);
  }
  return { status, grpcStatus, body: body.subarray(5).toString() };
}

void test('before the split the front holds at most the preface, and only for a while', async (t) => {
  const { front } = await echoFront(t, ['http://127.0.0.1:0'], { prefaceTimeoutMs: 300 });
  const port = Number(front.endpoint.split(':')[1]);
  const open = async (first: Buffer | null): Promise<{ closedMs: number }> => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    t.after(() => s.destroy());
    await new Promise((r) => s.once('connect', r));
    const started = Date.now();
    if (first) s.write(first);
    await new Promise((r) => s.once('close', r));
    return { closedMs: Date.now() - started };
  };
  // Nothing at all, and half a preface: both closed at the timeout, neither handed on.
  const [silent, half] = await Promise.all([open(null), open(CLIENT_PREFACE.subarray(0, 10))]);
  for (const { closedMs } of [silent, half])
    assert.ok(closedMs >= 250 && closedMs < 3000, `${closedMs} ms`);
  assert.deepEqual({ ...front.stats }, { http2: 0, http1: 0, refused: 2 });
  // A whole preface is handed on at once: the transport (grpc-js) answers with its SETTINGS.
  const c = await RawH2.connect(t, port);
  c.send(CLIENT_PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  await c.until(() => c.frames.some((f) => f.type === SETTINGS), 'the transport’s SETTINGS');
  assert.equal(front.stats.http2, 1);
});

void test('raw HTTP/2: a request sent with the preface is served', async (t) => {
  const { front } = await echoFront(t, ['http://127.0.0.1:0']);
  const c = await RawH2.connect(t, Number(front.endpoint.split(':')[1]));
  c.send(
    CLIENT_PREFACE,
    frame(SETTINGS, 0, 0, Buffer.alloc(0)),
    echoRequest(1, front.endpoint, 'x'),
  );
  const r = await echoReply(c, new HpackDecoder(), 1);
  assert.equal(r.body, `${front.endpoint}|x`);
  assert.ok(
    c.frames[0]!.type === SETTINGS && c.frames[0]!.payload.length > 0,
    'first frame is grpc-js’s SETTINGS',
  );
  assert.equal(front.stats.http2, 1);
});

void test('HTTP/1.x gets the http1 hook (default 404), never a hang', async (t) => {
  const get = (port: number, p: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const { front } = await echoFront(t, ['http://127.0.0.1:0']);
  const port = Number(front.endpoint.split(':')[1]);
  assert.deepEqual(await get(port, '/health'), { status: 404, body: '404 page not found\n' });
  const hooked = await echoFront(t, ['http://127.0.0.1:0'], {
    http1: http1Server((req, res) => res.end(`hook ${req.method} ${req.url}`)),
  });
  const hport = Number(hooked.front.endpoint.split(':')[1]);
  assert.deepEqual(await get(hport, '/version'), { status: 200, body: 'hook GET /version' });
  // A request that arrives one byte at a time still goes to the hook.
  const raw = await new Promise<string>((resolve, reject) => {
    const s = net.connect(hport, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    const req = 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    let i = 0;
    const tick = setInterval(() => {
      s.write(req[i++]!);
      if (i === req.length) clearInterval(tick);
    }, 1);
  });
  assert.match(raw, /^HTTP\/1\.1 200 OK/);
  assert.match(raw, /hook GET \/slow$/);
  assert.equal(hooked.front.stats.http1, 2);
});

void test('unix socket: stale socket file removed, grpc-js connects, file gone after close', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-front-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'localhost:2379');
  // A socket left behind by a killed server.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.ok(fs.statSync(sock).isSocket());
  const cwd = process.cwd();
  process.chdir(dir); // etcd takes the socket path from the URL host: relative to the cwd
  let front: ClientListeners;
  let server: grpc.Server;
  try {
    ({ front, server } = await echoFront(t, ['unix://localhost:2379', 'http://127.0.0.1:0']));
  } finally {
    process.chdir(cwd);
  }
  assert.deepEqual(front.urls[0], 'unix://localhost:2379');
  assert.match(front.endpoint, /^127\.0\.0\.1:\d+$/, 'endpoint is the first TCP listener');
  const c = newClient(t, `unix://${sock}`);
  assert.equal((await echo(c, Buffer.from('u'))).toString(), 'localhost|u');
  c.close();
  await front.close(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  assert.ok(!fs.existsSync(sock), 'socket file removed at close');
});

void test('IPv6 loopback and port 0 report the real port', async (t) => {
  const probe = net.createServer();
  const v6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!v6) {
    t.skip('no IPv6 loopback');
    return;
  }
  const { front } = await echoFront(t, ['http://[::1]:0']);
  assert.match(front.endpoint, /^\[::1\]:[1-9]\d*$/);
  assert.deepEqual(front.urls, [`http://${front.endpoint}`]);
  const c = newClient(t, `ipv6:${front.endpoint}`);
  assert.equal((await echo(c, Buffer.from('6'))).toString(), `${front.endpoint}|6`);
});

void test('0.0.0.0 and localhost listeners; a taken port fails the whole listen', async (t) => {
  const { front } = await echoFront(t, ['http://0.0.0.0:0', 'http://localhost:0']);
  const [any, local] = front.urls.map((u) => new URL(u));
  assert.equal(any!.hostname, '0.0.0.0');
  assert.equal(
    local!.hostname,
    '127.0.0.1',
    'localhost binds 127.0.0.1, as config.bindTarget says',
  );
  assert.equal(front.endpoint, `127.0.0.1:${any!.port}`);
  const c = newClient(t, `127.0.0.1:${local!.port}`);
  assert.equal((await echo(c, Buffer.from('l'))).toString(), `127.0.0.1:${local!.port}|l`);

  const taken = Number(front.endpoint.split(':')[1]);
  const server = new grpc.Server();
  await assert.rejects(
    listenClients(
      injected(server),
      [new URL('http://127.0.0.1:0'), new URL(`http://0.0.0.0:${taken}`)],
      {
        logger: quiet,
      },
    ),
    /EADDRINUSE/,
  );
});

void test('close: stops accepting, ends unsplit connections, waits for the drain, then ends the rest', async (t) => {
  const { front, server } = await echoFront(t, ['http://127.0.0.1:0']);
  const port = Number(front.endpoint.split(':')[1]);
  const idle = await RawH2.connect(t, port);
  idle.send(CLIENT_PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  await idle.until(() => idle.frames.length >= 1, 'the transport’s SETTINGS');
  const silent = net.connect(port, '127.0.0.1');
  silent.on('error', () => undefined);
  await new Promise((r) => silent.once('connect', r));
  const silentClosed = new Promise((r) => silent.once('close', r));
  const busy = newClient(t, front.endpoint);
  await echo(busy, Buffer.from('warm'));
  const http1 = net.connect(port, '127.0.0.1');
  http1.on('error', () => undefined);
  http1.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive: stays open after the 404
  await new Promise((r) => http1.once('data', r));
  let drained = false;
  const closed = front.close(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    drained = true;
  });
  await silentClosed;
  await idle.until(() => idle.ended, 'the idle connection to close');
  assert.ok(
    idle.frames.some((f) => f.type === GOAWAY),
    'grpc-js sent GOAWAY',
  );
  await closed;
  assert.ok(drained);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(http1.destroyed || http1.readableEnded, 'HTTP/1 connection ended');
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
  assert.ok(refused, 'no longer listening');
});

for (const transport of ['wire', 'grpc-js'] as const)
  void test(`whole server (${transport} transport): etcd3 npm client, grpc-js with an http:// authority`, async (t) => {
    const server = await startServer({ logLevel: 'silent', grpcTransport: transport });
    t.after(() => server.close());
    const etcd = new Etcd3({ hosts: `http://${server.endpoint}` });
    t.after(() => etcd.close());
    await etcd.put('front/a').value('1');
    assert.equal(await etcd.get('front/a').string(), '1');
    const watcher = await etcd.watch().key('front/w').create();
    const seen = new Promise<string>((resolve) =>
      watcher.on('put', (kv) => resolve(kv.value.toString())),
    );
    await etcd.put('front/w').value('watched');
    assert.equal(await seen, 'watched');
    await watcher.cancel();

    // grpc-go's passthrough resolver sends the whole URL as :authority (etcdctl --endpoints
    // http://…). Our framing takes it, as etcd's Go server does; node:http2 under grpc-js
    // resets such a stream (a documented limit of that fallback).
    const kvCtor = grpc.makeGenericClientConstructor(
      { Range: rawUnary('/etcdserverpb.KV/Range') },
      'KV',
    );
    const kv = new kvCtor(server.endpoint, grpc.credentials.createInsecure(), {
      'grpc.default_authority': `http://${server.endpoint}`,
    }) as unknown as grpc.Client & {
      Range(
        req: Buffer,
        md: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
      ): void;
    };
    t.after(() => kv.close());
    // RangeRequest{key: "front/a"}: field 1, bytes
    const req = Buffer.concat([Buffer.from([0x0a, 7]), Buffer.from('front/a')]);
    const res = await new Promise<Buffer | grpc.ServiceError>((resolve) =>
      kv.Range(req, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, r) =>
        resolve(err ?? r!),
      ),
    );
    if (transport === 'wire') {
      assert.ok(res instanceof Buffer, String(res));
      assert.ok(res.includes(Buffer.from('front/a')) && res.includes(Buffer.from('1')));
    } else {
      assert.ok(!(res instanceof Buffer), 'node:http2 refuses a URL :authority');
    }
  });

void test('a start that fails after binding (data dir locked) releases its port', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-front-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await startServer({ dataDir: dir, logLevel: 'silent' });
  t.after(() => first.close());
  // Find a free port, then ask a second server on the same (locked) data dir to use it.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const url = new URL(`http://127.0.0.1:${port}`);
  await assert.rejects(
    startServer({
      dataDir: dir,
      listenClientUrls: [url],
      advertiseClientUrls: [url],
      logLevel: 'silent',
    }),
  );
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((r) => again.close(() => r()));
});
