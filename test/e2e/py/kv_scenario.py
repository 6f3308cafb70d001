"""KV scenario for python-etcd3 0.12, run by test/e2e/python-etcd3.test.ts.

Usage: /usr/bin/python3 kv_scenario.py HOST PORT

Prints one JSON document: {"transcript": [[label, result], ...]}. Every
call's outcome goes into the transcript (errors included, as class name,
gRPC code and message), so running the same script against a real etcd and
against etcd-ts and comparing the transcripts shows every difference. IDs
(cluster/member/raft term) are printed as they come; the caller normalises.
"""

import base64
import json
import sys
import traceback

import etcd3
import grpc
from google.protobuf import json_format

HOST = sys.argv[1]
PORT = int(sys.argv[2])

client = etcd3.client(host=HOST, port=PORT, timeout=10)
tx = client.transactions
transcript = []


def b(v):
    """bytes -> printable text (base64 when not UTF-8)."""
    if v is None:
        return None
    if isinstance(v, bytes):
        try:
            return v.decode('utf-8')
        except UnicodeDecodeError:
            return 'b64:' + base64.b64encode(v).decode('ascii')
    return v


def header(h):
    return {
        'cluster_id': str(h.cluster_id),
        'member_id': str(h.member_id),
        'revision': h.revision,
        'raft_term': h.raft_term,
    }


def meta(m):
    if m is None:
        return None
    return {
        'key': b(m.key),
        'create_revision': m.create_revision,
        'mod_revision': m.mod_revision,
        'version': m.version,
        'lease_id': m.lease_id,
        'header': header(m.response_header),
    }


def pairs(seq):
    return [[b(v), meta(m)] for (v, m) in seq]


def msg(m):
    return json_format.MessageToDict(m, preserving_proto_field_name=True)


def txn_result(res):
    ok, responses = res
    out = []
    for r in responses:
        if isinstance(r, list):
            out.append({'range': pairs(r)})
        else:
            out.append(msg(r))
    return {'succeeded': ok, 'responses': out}


def error(e):
    d = {'error': type(e).__name__}
    if isinstance(e, grpc.RpcError) and hasattr(e, 'code'):
        d['code'] = e.code().name
        d['details'] = e.details()
    else:
        d['message'] = str(e)
    return d


def step(label, fn, conv=lambda x: x):
    try:
        result = conv(fn())
    except Exception as e:  # noqa: BLE001 - every outcome goes into the transcript
        result = error(e)
    transcript.append([label, result])
    return result


def status():
    s = client.status()
    members = list(client.members)
    return {
        'version': s.version,
        'db_size': s.db_size,
        'leader_found': s.leader is not None,
        'leader_id': None if s.leader is None else str(s.leader.id),
        'leader_name': None if s.leader is None else s.leader.name,
        'leader_client_urls': None if s.leader is None else list(s.leader.client_urls),
        'raft_index': s.raft_index,
        'raft_term': s.raft_term,
        'member_ids': [str(m.id) for m in members],
        'member_names': [m.name for m in members],
    }


# --- status on a fresh server -------------------------------------------------
step('status.fresh', status)
step('alarms.fresh', lambda: [[a.alarm_type, str(a.member_id)] for a in client.list_alarms()])
step('get_all.fresh', lambda: pairs(client.get_all()))

# --- put / get -----------------------------------------------------------------
step('put foo', lambda: client.put('foo', 'bar'), msg)
step('get foo', lambda: client.get('foo'), lambda r: [b(r[0]), meta(r[1])])
step('get missing', lambda: client.get('missing'), lambda r: [b(r[0]), meta(r[1])])
step('get foo serializable', lambda: client.get('foo', serializable=True), lambda r: [b(r[0]), meta(r[1])])
step('put foo prev_kv', lambda: client.put('foo', 'baz', prev_kv=True), msg)
step('put new prev_kv', lambda: client.put('new', 'n', prev_kv=True), msg)
step('put empty value', lambda: client.put('empty', ''), msg)
step('get empty value', lambda: client.get('empty'), lambda r: [b(r[0]), meta(r[1])])
step('put binary', lambda: client.put(b'bin\x00\xff', b'\x00\x01\xfe'), msg)
step('get binary', lambda: client.get(b'bin\x00\xff'), lambda r: [b(r[0]), meta(r[1])])
step('put empty key', lambda: client.put('', 'v'), msg)
step('get empty key', lambda: client.get(''), lambda r: [b(r[0]), meta(r[1])])

# --- put_if_not_exists / replace ------------------------------------------------
step('put_if_not_exists existing', lambda: client.put_if_not_exists('foo', 'nope'))
step('put_if_not_exists absent', lambda: client.put_if_not_exists('fresh', 'yes'))
step('get fresh', lambda: client.get('fresh'), lambda r: [b(r[0]), meta(r[1])])
step('replace wrong initial', lambda: client.replace('foo', 'wrong', 'x'))
step('replace right initial', lambda: client.replace('foo', 'baz', 'qux'))
step('replace missing key', lambda: client.replace('ghost', '', 'x'))
step('replace empty value', lambda: client.replace('empty', '', 'filled'))
step('replace empty value again', lambda: client.replace('empty', '', 'x'))
step('put empty value back', lambda: client.put('empty', ''), msg)
step('transaction value == "" on empty value', lambda: client.transaction(
    compare=[tx.value('empty') == ''], success=[tx.get('empty')], failure=[]), txn_result)
step('get foo after replace', lambda: client.get('foo'), lambda r: [b(r[0]), meta(r[1])])

# --- ranges: prefix, range, all, with sort orders and targets --------------------
# Five keys under /s/ whose KEY, CREATE, MOD, VALUE and VERSION orders all
# differ without ties (versions 1..5, distinct values).
for k, v in [('/s/c', 'c1'), ('/s/a2', 'a21'), ('/s/b', 'b1'), ('/s/a1', 'a11'), ('/s/b', 'b2'),
             ('/s/a1', 'a12'), ('/s/c', 'c2'), ('/s/a1', 'a13'), ('/s/b', 'b3'), ('/s/a1', 'a14'),
             ('/s/a2', 'a22'), ('/s/b', 'b4'), ('/s/c', 'c3'), ('/s/a1', 'a15'), ('/s/a', 'one')]:
    client.put(k, v)
step('get_prefix /s/', lambda: pairs(client.get_prefix('/s/')))
step('get_prefix /s/a', lambda: pairs(client.get_prefix('/s/a')))
step('get_prefix /s/ keys_only', lambda: pairs(client.get_prefix('/s/', keys_only=True)))
step('get_prefix /nothing/', lambda: pairs(client.get_prefix('/nothing/')))
for order in ['ascend', 'descend']:
    for target in ['key', 'version', 'create', 'mod', 'value']:
        step('get_prefix /s/ %s %s' % (order, target),
             lambda o=order, t=target: pairs(client.get_prefix('/s/', sort_order=o, sort_target=t)))
        step('get_range /s/a../s/c %s %s' % (order, target),
             lambda o=order, t=target: pairs(client.get_range('/s/a', '/s/c', sort_order=o, sort_target=t)))
step('get_range /s/b../s/a (empty)', lambda: pairs(client.get_range('/s/b', '/s/a')))
step('get_range from-key /s/b', lambda: pairs(client.get_range('/s/b', '\0')))
step('get_prefix_response /s/', lambda: client.get_prefix_response('/s/'), msg)

# get_all over the whole store; delete the other keys first so the sorts have no ties.
for k in ['foo', 'new', 'empty', b'bin\x00\xff', 'fresh']:
    client.delete(k)
for order in [None, 'ascend', 'descend']:
    for target in ['key', 'version', 'create', 'mod', 'value']:
        step('get_all %s %s' % (order, target),
             lambda o=order, t=target: pairs(client.get_all(sort_order=o, sort_target=t)))
step('get_all keys_only', lambda: pairs(client.get_all(keys_only=True)))
step('get_all_response', lambda: client.get_all_response(), msg)

# --- delete ---------------------------------------------------------------------
for k in ['/d/1', '/d/2', '/d/3', '/e']:
    client.put(k, 'val' + k)
step('delete /d/1', lambda: client.delete('/d/1'))
step('delete /d/1 again', lambda: client.delete('/d/1'))
step('delete /d/2 prev_kv', lambda: client.delete('/d/2', prev_kv=True, return_response=True), msg)
step('delete missing response', lambda: client.delete('/zz', prev_kv=True, return_response=True), msg)
step('delete_prefix /d/', lambda: client.delete_prefix('/d/'), msg)
step('delete_prefix /d/ again', lambda: client.delete_prefix('/d/'), msg)
step('delete empty key', lambda: client.delete(''))
step('get_prefix /d/ after', lambda: pairs(client.get_prefix('/d/')))

# --- transactions: every compare target with every operator ----------------------
client.put('/t/k', 'm')          # version 1
client.put('/t/k', 'm')          # version 2, same value
k_meta = client.get('/t/k')[1]
create = k_meta.create_revision
mod = k_meta.mod_revision

compares = {
    'version': (tx.version, 2),
    'create': (tx.create, create),
    'mod': (tx.mod, mod),
    'value': (tx.value, 'm'),
}
for name, (factory, current) in compares.items():
    lower = current - 1 if name != 'value' else 'l'
    higher = current + 1 if name != 'value' else 'n'
    cases = [
        ('==', current, lambda f: f('/t/k') == current),
        ('== other', higher, lambda f: f('/t/k') == higher),
        ('!=', current, lambda f: f('/t/k') != current),
        ('!= other', lower, lambda f: f('/t/k') != lower),
        ('<', higher, lambda f: f('/t/k') < higher),
        ('< self', current, lambda f: f('/t/k') < current),
        ('>', lower, lambda f: f('/t/k') > lower),
        ('> self', current, lambda f: f('/t/k') > current),
        ('missing ==', 0 if name != 'value' else '', lambda f: f('/t/missing') == (0 if name != 'value' else '')),
        ('missing <', 1 if name != 'value' else 'a', lambda f: f('/t/missing') < (1 if name != 'value' else 'a')),
    ]
    for label, _, build in cases:
        step('txn %s %s' % (name, label),
             lambda build=build, factory=factory: client.transaction(
                 compare=[build(factory)],
                 success=[tx.get('/t/k')],
                 failure=[tx.get('/t/missing')]),
             txn_result)

client.put('/t/del', 'd')
step('txn and-ed compares with writes', lambda: client.transaction(
    compare=[tx.value('/t/k') == 'm', tx.version('/t/k') > 1, tx.create('/t/nope') == 0],
    success=[tx.put('/t/a', '1'), tx.put('/t/b', '2', prev_kv=True), tx.get('/t/', '/t0'),
             tx.delete('/t/del', prev_kv=True), tx.get('/t/del'), tx.put('/t/b2', '3')],
    failure=[tx.put('/t/fail', 'x')]), txn_result)
step('txn failure branch writes', lambda: client.transaction(
    compare=[tx.mod('/t/k') > 1000000],
    success=[tx.put('/t/ok', 'x')],
    failure=[tx.put('/t/fail', 'y'), tx.get('/t/fail')]), txn_result)
step('txn nested', lambda: client.transaction(
    compare=[tx.version('/t/k') == 2],
    success=[tx.txn(compare=[tx.value('/t/fail') == 'y'],
                    success=[tx.put('/t/nested', 'yes'), tx.get('/t/nested')],
                    failure=[tx.put('/t/nested', 'no')]),
             tx.get('/t/nested')],
    failure=[]), txn_result)
step('txn range compare', lambda: client.transaction(
    compare=[tx.version('/t/', '/t0') > 0],
    success=[tx.get('/t/', '/t0')],
    failure=[tx.delete('/t/', '/t0')]), txn_result)
step('txn read-only', lambda: client.transaction(compare=[], success=[tx.get('/t/k')], failure=[]), txn_result)
step('txn empty', lambda: client.transaction(compare=[], success=[], failure=[]), txn_result)
step('txn duplicate put', lambda: client.transaction(
    compare=[], success=[tx.put('/t/dup', '1'), tx.put('/t/dup', '2')], failure=[]), txn_result)
step('txn put inside deleted range', lambda: client.transaction(
    compare=[], success=[tx.delete('/t/', '/t0'), tx.put('/t/x', '1')], failure=[]), txn_result)
step('txn empty key in compare', lambda: client.transaction(
    compare=[tx.value('') == 'x'], success=[], failure=[]), txn_result)
step('txn unknown lease', lambda: client.transaction(
    compare=[], success=[tx.put('/t/l', 'v', lease=999999)], failure=[]), txn_result)
step('get_prefix /t/ after txns', lambda: pairs(client.get_prefix('/t/')))

# --- leases with a client-chosen ID ------------------------------------------------
step('lease grant id 4242', lambda: client.lease(600, lease_id=4242), lambda l: [l.id, l.ttl])
step('lease grant id 4242 again', lambda: client.lease(600, lease_id=4242), lambda l: [l.id, l.ttl])
step('put with lease', lambda: client.put('/l/k', 'v', lease=4242), msg)
step('get leased key', lambda: client.get('/l/k'), lambda r: [b(r[0]), meta(r[1])])
step('lease info', lambda: client.get_lease_info(4242),
     lambda r: {'ID': r.ID, 'grantedTTL': r.grantedTTL, 'ttl_in_range': 590 <= r.TTL <= 600, 'keys': [b(k) for k in r.keys]})
step('put unknown lease', lambda: client.put('/l/k', 'v', lease=777), msg)
step('revoke lease', lambda: client.revoke_lease(4242))
step('get leased key after revoke', lambda: client.get('/l/k'), lambda r: [b(r[0]), meta(r[1])])
step('revoke unknown lease', lambda: client.revoke_lease(4242))

# --- compaction ----------------------------------------------------------------------
rev = client.get_all_response().header.revision
step('compact rev-5', lambda: client.compact(rev - 5))
step('compact rev-5 again', lambda: client.compact(rev - 5))
step('compact older', lambda: client.compact(rev - 10))
step('compact future', lambda: client.compact(rev + 100))
step('compact physical rev-2', lambda: client.compact(rev - 2, physical=True))
step('compact current', lambda: client.compact(rev))
step('get_all after compaction', lambda: pairs(client.get_all()))

# --- status at the end ------------------------------------------------------------
step('status.end', status)
step('alarms.end', lambda: [[a.alarm_type, str(a.member_id)] for a in client.list_alarms()])

print(json.dumps({'transcript': transcript}, indent=1, sort_keys=True))
