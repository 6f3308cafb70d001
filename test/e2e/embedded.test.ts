// startServer() as a Node test suite embeds it: in memory on a random port, serving a real client
// at once, and silent unless asked (no ready line, no warnings on the embedding process's stderr).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { inProcessSkipReason } from '../helpers/in-process.js';
import { ourLibPath } from '../helpers/paths.js';

const script = (lib: string, opts: string): string => `
import { Etcd3 } from 'etcd3';
const { startServer } = await import(${JSON.stringify(pathToFileURL(lib).href)});
const s = await startServer(${opts});
const c = new Etcd3({ hosts: 'http://' + s.endpoint });
await c.put('k').value('v');
process.stdout.write(await c.get('k').string());
c.close();
await s.close();
`;

function run(opts: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(ourLibPath(), opts)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test(
  'startServer() serves at once and writes nothing to stderr by default',
  { skip: inProcessSkipReason() },
  () => {
    const r = run('');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'v');
    assert.equal(r.stderr, '', 'silent by default');
  },
);

test(
  "startServer({ logLevel: 'info' }) logs its ready line",
  { skip: inProcessSkipReason() },
  () => {
    const r = run("{ logLevel: 'info' }");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ready to serve client requests/);
  },
);
