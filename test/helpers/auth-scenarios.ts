// etcdctl auth scenarios with what etcd 3.4.23 answered to each step: the tutorial's sequence
// (user add root, auth enable, role add, grant-permission --prefix, grant-role, get --user)
// and the error cases, with exit codes, stdout and stderr as the etcdctl-diff harness
// normalises them. The answers live in test/fixtures/auth-etcdctl.json, recorded from a real
// etcd by test/compat/auth-etcdctl.test.ts (AUTH_SCENARIOS_RECORD=1); the same test checks a
// real etcd still answers so, and the server's wiring step replays the steps against ours.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { indent, lineDiff } from './diff.js';
import { describeStep, runStep, type CtlOutcome, type CtlStep } from './etcdctl-diff.js';
import { repoRoot } from './paths.js';
import type { ServerHandle } from './server-process.js';

export interface AuthScenario {
  id: string;
  title: string;
  /** Server flags beyond the defaults. */
  serverArgs?: string[];
  steps: CtlStep[];
}

const ROOT = ['--user', 'root:rootpw'];
const ALICE = ['--user', 'alice:alicepw'];
const ok = (args: string[], note?: string): CtlStep => ({ args, ...(note ? { note } : {}) });
const fail = (args: string[], note?: string): CtlStep => ({
  args,
  expect: 'fail',
  ...(note ? { note } : {}),
});

export const AUTH_SCENARIOS: AuthScenario[] = [
  {
    id: 'tutorial',
    title: "etcd's auth tutorial: root, auth enable, a prefix role, a user",
    steps: [
      fail(['auth', 'enable'], 'no root user yet'),
      ok(['user', 'add', 'root:rootpw']),
      ok(['auth', 'enable'], 'etcdctl adds role root and grants it, then retries'),
      fail(['role', 'list'], 'no token'),
      ok(['role', 'list', ...ROOT]),
      ok(['role', 'get', 'root', ...ROOT]),
      ok(['user', 'get', 'root', ...ROOT]),
      ok(['role', 'add', 'rw_test', ...ROOT]),
      ok(['role', 'grant-permission', 'rw_test', 'readwrite', '/test', '--prefix=true', ...ROOT]),
      ok(['user', 'add', 'alice:alicepw', ...ROOT]),
      ok(['user', 'grant-role', 'alice', 'rw_test', ...ROOT]),
      ok(['put', '/test/a', '1', ...ALICE]),
      ok(['get', '/test/a', ...ALICE]),
      ok(['get', '/test', '--prefix', ...ALICE]),
      ok(['get', '/test/a', '--user', 'alice', '--password', 'alicepw'], 'the --password form'),
      fail(['get', '/test/a', '--user', 'alice', '--password', 'nope']),
      ok(['put', '/test/b', '2', ...ALICE, '--prev-kv']),
      ok(['del', '/test/b', ...ALICE, '--prev-kv']),
      {
        args: ['txn', ...ALICE],
        input: 'value("/other") = "x"\n\nput /test/c 1\n\nget /test/a\n\n',
        expect: 'fail',
        note: 'a compare on a key alice cannot read',
      },
      {
        args: ['txn', ...ALICE],
        input: 'value("/test/a") = "1"\n\nput /test/c 1\n\nget /test/a\n\n',
        note: 'compares, success and failure ops all within her prefix',
      },
      fail(['get', '/tes', '--prefix', ...ALICE], 'the prefix /tes is wider than the grant'),
      fail(['put', '/other', 'x', ...ALICE]),
      fail(['get', '/test/a'], 'no token'),
      fail(['get', '/test/a', '--user', 'alice:wrong']),
      fail(['get', '/test/a', '--user', 'nobody:pw']),
      ok(['user', 'get', 'alice', ...ALICE], 'a user may read itself'),
      fail(['user', 'get', 'root', ...ALICE]),
      ok(['role', 'get', 'rw_test', ...ALICE], 'a user may read a role it holds'),
      fail(['role', 'get', 'root', ...ALICE]),
      fail(['user', 'list', ...ALICE]),
      ok(['role', 'grant-permission', 'rw_test', 'read', '/y', '--from-key', ...ROOT]),
      ok(['role', 'grant-permission', 'rw_test', 'write', '/a1', '/a3', ...ROOT]),
      ok(['role', 'get', 'rw_test', ...ROOT]),
      ok(['get', '/zzz', ...ALICE], 'inside the from-key grant'),
      fail(['put', '/zzz', 'x', ...ALICE], 'read only'),
      ok(['put', '/a2', 'x', ...ALICE]),
      fail(['get', '/a2', ...ALICE], 'write only'),
      ok(['role', 'revoke-permission', 'rw_test', '/test', '--prefix=true', ...ROOT]),
      fail(['get', '/test/a', ...ALICE]),
      { args: ['user', 'passwd', 'alice', '--interactive=false', ...ROOT], input: 'newpw\n' },
      fail(['get', '/zzz', ...ALICE], 'the old password'),
      ok(['get', '/zzz', '--user', 'alice:newpw']),
      ok(['user', 'list', ...ROOT]),
      ok(['user', 'revoke-role', 'alice', 'rw_test', ...ROOT]),
      ok(['user', 'get', 'alice', ...ROOT]),
      ok(['role', 'delete', 'rw_test', ...ROOT]),
      ok(['user', 'delete', 'alice', ...ROOT]),
      ok(['auth', 'disable', ...ROOT]),
      ok(['get', '/test/a'], 'auth is off'),
      ok(['auth', 'disable'], 'already off'),
    ],
  },
  {
    id: 'errors',
    title: 'auth management errors and the maintenance quirk',
    steps: [
      ok(['user', 'add', 'root:rootpw']),
      ok(['user', 'grant-role', 'root', 'root'], 'role root needs no role of that name'),
      ok(['user', 'grant-role', 'root', 'root'], 'granting a held role is a no-op'),
      fail(['role', 'get', 'root']),
      ok(['auth', 'enable']),
      ok(['auth', 'enable', ...ROOT], 'already on'),
      ok(['role', 'add', 'r1', ...ROOT]),
      fail(['role', 'add', 'r1', ...ROOT]),
      ok(['user', 'add', 'alice:alicepw', ...ROOT]),
      fail(['user', 'add', 'alice:x', ...ROOT]),
      fail(['user', 'delete', 'root', ...ROOT]),
      fail(['role', 'delete', 'root', ...ROOT]),
      fail(['user', 'revoke-role', 'root', 'root', ...ROOT]),
      fail(['user', 'revoke-role', 'alice', 'r1', ...ROOT]),
      fail(['user', 'grant-role', 'alice', 'nosuch', ...ROOT]),
      fail(['user', 'grant-role', 'nobody', 'r1', ...ROOT]),
      fail(['user', 'delete', 'nobody', ...ROOT]),
      fail(['user', 'get', 'nobody', ...ROOT]),
      fail(['role', 'get', 'nosuch', ...ROOT]),
      fail(['role', 'delete', 'nosuch', ...ROOT]),
      fail(['role', 'revoke-permission', 'r1', '/nokey', ...ROOT]),
      fail(['role', 'revoke-permission', 'nosuch', '/nokey', ...ROOT]),
      fail(['role', 'grant-permission', 'nosuch', 'read', '/k', ...ROOT]),
      ok(['role', 'grant-permission', 'r1', 'read', '/k', ...ROOT]),
      ok(['role', 'grant-permission', 'r1', 'write', '/k', ...ROOT], 'same key: updated'),
      ok(['role', 'get', 'r1', ...ROOT]),
      ok(['user', 'add', 'np', '--no-password', ...ROOT]),
      ok(['user', 'grant-role', 'np', 'r1', ...ROOT]),
      fail(['get', '/k', '--user', 'np:x'], 'no_password users cannot authenticate: code Unknown'),
      fail(['get', '/k', '--user', 'np:'], 'an empty password sends no Authenticate at all'),
      {
        args: ['user', 'passwd', 'nobody', '--interactive=false', ...ROOT],
        input: 'x\n',
        expect: 'fail',
      },
      ok(['endpoint', 'hashkv', ...ROOT]),
      fail(['endpoint', 'hashkv', ...ALICE], 'code Unknown, "auth: permission denied"'),
      fail(['endpoint', 'hashkv'], 'code Unknown, "auth: user name is empty"'),
      fail(['defrag', ...ALICE]),
      ok(['compaction', '1', ...ALICE], 'Compact has no check in 3.4.23'),
      ok(['endpoint', 'status', ...ALICE]),
      ok(['member', 'list', ...ALICE]),
      ok(['user', 'list', ...ROOT]),
      ok(['role', 'list', ...ROOT]),
    ],
  },
];

/** One step's recorded answer. */
export interface RecordedStep extends CtlOutcome {
  args: string[];
}

export const AUTH_FIXTURE = path.join(repoRoot(), 'test', 'fixtures', 'auth-etcdctl.json');

/** The recorded answers by scenario id. */
export function loadRecorded(): Record<string, RecordedStep[]> {
  return JSON.parse(readFileSync(AUTH_FIXTURE, 'utf8')) as Record<string, RecordedStep[]>;
}

export function saveRecorded(all: Record<string, RecordedStep[]>): void {
  writeFileSync(AUTH_FIXTURE, JSON.stringify(all, null, 2) + '\n');
}

/** Runs a scenario's steps in order on `server` and returns the normalised outcomes. */
export async function runAuthScenario(
  server: ServerHandle,
  scenario: AuthScenario,
): Promise<RecordedStep[]> {
  const out: RecordedStep[] = [];
  for (const step of scenario.steps) {
    const { outcome } = await runStep(server, step);
    out.push({ args: step.args, ...outcome });
  }
  return out;
}

/** Readable reports of the steps whose outcome differs from the recorded one. */
export function compareToRecorded(
  scenario: AuthScenario,
  got: RecordedStep[],
  recorded: RecordedStep[] | undefined,
): string[] {
  if (!recorded) return [`scenario ${scenario.id} has no recorded answers`];
  const mismatches: string[] = [];
  scenario.steps.forEach((step, i) => {
    const want = recorded[i];
    const have = got[i];
    if (!want || want.args.join('\0') !== step.args.join('\0')) {
      mismatches.push(`step ${i + 1}: ${describeStep(step)}: recorded answers are for other steps`);
      return;
    }
    if (!have) return;
    const parts: string[] = [];
    if (want.exit !== have.exit) parts.push(`  exit: recorded ${want.exit}, got ${have.exit}`);
    if (want.stdout !== have.stdout)
      parts.push(`  stdout (- recorded, + got):\n${indent(lineDiff(want.stdout, have.stdout), 4)}`);
    if (want.stderr !== have.stderr)
      parts.push(`  stderr (- recorded, + got):\n${indent(lineDiff(want.stderr, have.stderr), 4)}`);
    if (parts.length > 0)
      mismatches.push(`step ${i + 1}: ${describeStep(step)}\n${parts.join('\n')}`);
  });
  return mismatches;
}
