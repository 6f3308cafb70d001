#!/usr/bin/env node
// Container health probe: asks the standard grpc.health.v1 service on the local client port.
// Exits 0 when it answers SERVING. Endpoint: $ETCD_HEALTH_ENDPOINT or 127.0.0.1:2379.
import * as grpc from '@grpc/grpc-js';

const endpoint = process.env.ETCD_HEALTH_ENDPOINT ?? '127.0.0.1:2379';
const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
const deadline = new Date(Date.now() + 2500);
// HealthCheckRequest{service=""} is an empty message; SERVING is field 1 = 1 (bytes 08 01).
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  (b) => b,
  (b) => b,
  Buffer.alloc(0),
  { deadline },
  (err, res) => {
    client.close();
    const ok = !err && res && res.length >= 2 && res[0] === 0x08 && res[1] === 0x01;
    if (!ok) process.stderr.write(`unhealthy: ${err ? err.message : 'not serving'}\n`);
    process.exit(ok ? 0 : 1);
  },
);
