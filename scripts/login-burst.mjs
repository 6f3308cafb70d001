// Keeps N Authenticate calls in flight against an etcd endpoint until SIGTERM, then prints how
// many completed. Used by bench-login-burst.sh to load a server with bcrypt work.
//
// Usage: node scripts/login-burst.mjs HOST:PORT USER PASSWORD [CONCURRENCY]
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [endpoint, name, password, concurrency = '100'] = process.argv.slice(2);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'proto');
const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', { keepCase: true, includeDirs: [root] });
const { etcdserverpb } = grpc.loadPackageDefinition(def);
const auth = new etcdserverpb.Auth(endpoint, grpc.credentials.createInsecure());
let done = 0;
let failed = 0;
let stopping = false;
const one = () => {
  if (stopping) return;
  auth.Authenticate({ name, password }, (err) => {
    if (err) failed++;
    else done++;
    one();
  });
};
for (let i = 0; i < Number(concurrency); i++) one();
process.on('SIGTERM', () => {
  stopping = true;
  console.log(`logins=${done} failed=${failed}`);
  process.exit(0);
});
