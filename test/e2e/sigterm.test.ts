// SIGTERM ends the server within a bounded time whatever its stderr is: a pipe nobody reads
// (full), or a pipe whose reader is gone (closed), with debug logging producing far more than a
// pipe holds. etcd just exits; so must we.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { probeRange } from '../helpers/grpc-client.js';
import { ourServerSkipReason, targetIsRealEtcd } from '../helpers/our-server.js';
import { ourBinPath } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { makeTmpDir } from '../helpers/tmpdir.js';
import { waitFor } from '../helpers/wait.js';

const skip = ourServerSkipReason() ?? (targetIsRealEtcd() ? 'etcd-ts logging only' : undefined);

for (const stderr of ['full', 'closed'] as const)
  test(
    `SIGTERM with stderr ${stderr === 'full' ? 'a pipe nobody reads' : 'closed'}: exits within seconds`,
    { skip, timeout: 60_000 },
    async (t) => {
      const tmp = await makeTmpDir('sigterm');
      t.after(() => tmp.remove());
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(
        process.execPath,
        [
          ourBinPath(),
          '--data-dir',
          path.join(tmp.path, 'data'),
          '--listen-client-urls',
          url,
          '--advertise-client-urls',
          url,
          '--log-level',
          'debug',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      t.after(() => child.kill('SIGKILL'));
      const exited = once(child, 'exit');
      if (stderr === 'closed') child.stderr.destroy();
      else child.stderr.pause(); // never read: the pipe fills
      await waitFor(() => probeRange(`127.0.0.1:${port}`), { what: 'the server to serve' });
      // Each connection that speaks neither HTTP/2 nor HTTP/1 is a debug line: about 1 MB of them.
      for (let i = 0; i < 8000; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.end('xx\r\n');
        if (i % 200 === 0) await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(child.exitCode, null, 'still running before the signal');
      const t0 = Date.now();
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      const took = Date.now() - t0;
      assert.notEqual(
        child.exitCode ?? child.signalCode,
        null,
        `still alive ${took} ms after SIGTERM`,
      );
      assert.ok(took < 5000, `exited ${took} ms after SIGTERM`);
    },
  );
