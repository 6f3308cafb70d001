"""Lease and lock scenarios for python-etcd3 0.12, run by test/e2e/lease-python.test.ts.

Usage:
  /usr/bin/python3 lease_lock.py scenario HOST PORT
      Prints {"transcript": [[label, result], ...]}: every call's outcome
      (errors as class name + gRPC code + message). Run against a real etcd and
      against etcd-ts, the transcripts must match once lease IDs are masked.
  /usr/bin/python3 lease_lock.py contend HOST PORT NAME WHO HOLD_S LOGFILE
      Acquires client.lock(NAME, ttl=5), appends "WHO start <ns>" / "WHO end <ns>"
      to LOGFILE around a HOLD_S second critical section (refreshing the lock
      once inside it), releases, prints "WHO done".
"""

import json
import sys
import time
import traceback

import etcd3
import grpc

MODE = sys.argv[1]
HOST = sys.argv[2]
PORT = int(sys.argv[3])

client = etcd3.client(host=HOST, port=PORT, timeout=10)


def outcome(fn):
    try:
        return fn()
    except grpc.RpcError as e:
        return {'error': type(e).__name__, 'code': str(e.code()), 'details': e.details()}
    except Exception as e:  # python-etcd3's own exception classes
        return {'error': type(e).__name__, 'message': str(e)}


def lease_info(lease_id):
    info = client.get_lease_info(lease_id)
    return {'ID': info.ID, 'TTL': info.TTL, 'grantedTTL': info.grantedTTL,
            'keys': sorted(k.decode('latin1') for k in info.keys)}


def scenario():
    t = []
    add = lambda label, fn: t.append([label, outcome(fn)])

    lease = client.lease(30)
    add('lease id positive', lambda: lease.id > 0)
    add('lease.ttl', lambda: lease.ttl)
    add('granted_ttl', lambda: lease.granted_ttl)
    add('remaining_ttl', lambda: lease.remaining_ttl)
    add('keys (none)', lambda: list(lease.keys))
    add('put with lease', lambda: client.put('/svc/a', 'one', lease=lease) is not None)
    add('put with lease id', lambda: client.put('/svc/b', 'two', lease=lease.id) is not None)
    add('keys', lambda: sorted(k.decode() for k in lease.keys))
    add('get shows the lease', lambda: client.get('/svc/a')[1].lease_id == lease.id)
    add('refresh', lambda: [(r.ID == lease.id, r.TTL) for r in lease.refresh()])
    add('refresh via client', lambda: [(r.ID == lease.id, r.TTL) for r in client.refresh_lease(lease.id)])
    add('info', lambda: {k: (v if k != 'ID' else v == lease.id) for k, v in lease_info(lease.id).items()})
    add('put without lease detaches', lambda: client.put('/svc/b', 'three') is not None)
    add('keys after detach', lambda: sorted(k.decode() for k in lease.keys))
    add('revoke', lambda: lease.revoke())
    add('keys gone', lambda: [m.key.decode() for _, m in client.get_prefix('/svc/')])
    add('remaining_ttl after revoke', lambda: lease.remaining_ttl)
    add('granted_ttl after revoke', lambda: lease.granted_ttl)
    add('revoke again', lambda: lease.revoke())
    add('refresh revoked', lambda: [(r.ID == lease.id, r.TTL) for r in lease.refresh()])

    mine = client.lease(10, lease_id=4242)
    add('client-chosen id', lambda: mine.id)
    add('client-chosen id info', lambda: lease_info(4242))
    add('duplicate id', lambda: client.lease(10, lease_id=4242).id)
    add('minimum ttl', lambda: client.get_lease_info(client.lease(1, lease_id=4243).id).grantedTTL)
    add('too large ttl', lambda: client.lease(9000000001).id)
    add('put with unknown lease', lambda: client.put('/x', 'y', lease=987654))
    add('put_if_not_exists with lease', lambda: client.put_if_not_exists('/once', 'v', lease=mine))
    add('put_if_not_exists again', lambda: client.put_if_not_exists('/once', 'w', lease=mine))
    add('transaction put with lease', lambda: client.transaction(
        compare=[client.transactions.version('/txn') == 0],
        success=[client.transactions.put('/txn', 'v', lease=mine)],
        failure=[])[0])
    add('keys of 4242', lambda: lease_info(4242)['keys'])
    add('revoke 4242', lambda: client.revoke_lease(4242))
    add('revoke 4243', lambda: client.revoke_lease(4243))
    add('all keys', lambda: sorted(m.key.decode() for _, m in client.get_all()))

    short = client.lease(2)
    client.put('/short', 'v', lease=short)
    time.sleep(3.5)
    add('expired key', lambda: client.get('/short')[0])
    add('expired lease ttl', lambda: short.remaining_ttl)

    lock = client.lock('res', ttl=10)
    add('lock acquire', lambda: lock.acquire(timeout=5))
    add('lock is_acquired', lambda: lock.is_acquired())
    add('lock refresh', lambda: [r.TTL for r in lock.refresh()])
    add('lock key lease ttl', lambda: lock.lease.granted_ttl)
    other = client.lock('res', ttl=10)
    # acquire(timeout>0) on a held lock raises TypeError in python-etcd3 0.12 with Debian's
    # tenacity (its wait callback has the old signature), against any server: use timeout=0.
    add('second acquire fails while held', lambda: other.acquire(timeout=0))
    add('second is_acquired', lambda: other.is_acquired())
    add('release', lambda: lock.release())
    add('released', lambda: lock.is_acquired())
    add('second acquire now', lambda: other.acquire(timeout=5))
    add('release second', lambda: other.release())
    add('release twice', lambda: other.release())
    with client.lock('ctx', ttl=5) as l:
        add('context manager holds', lambda: l.is_acquired())
    add('context manager released', lambda: client.get('/locks/ctx')[0])
    print(json.dumps({'transcript': t}))


def contend():
    name, who, hold, logfile = sys.argv[4], sys.argv[5], float(sys.argv[6]), sys.argv[7]
    lock = client.lock(name, ttl=5)
    # What Lock.acquire(timeout=60) means to do (its retry wait is broken with Debian's
    # tenacity, see scenario()): try, and on failure wait for a change of the lock key.
    deadline = time.time() + 60
    while not lock.acquire(timeout=0):
        if time.time() > deadline:
            print('%s timeout' % who)
            sys.exit(3)
        try:
            client.watch_once(lock.key, timeout=1)
        except etcd3.exceptions.WatchTimedOut:
            pass
    with open(logfile, 'a') as f:
        f.write('%s start %d\n' % (who, time.time_ns()))
    time.sleep(hold / 2)
    lock.refresh()
    time.sleep(hold / 2)
    with open(logfile, 'a') as f:
        f.write('%s end %d\n' % (who, time.time_ns()))
    if not lock.release():
        print('%s lost the lock' % who)
        sys.exit(4)
    print('%s done' % who)


try:
    {'scenario': scenario, 'contend': contend}[MODE]()
except Exception:
    traceback.print_exc()
    sys.exit(2)
