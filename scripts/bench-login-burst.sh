#!/usr/bin/env bash
# How much a burst of logins slows other clients: the p99 latency of puts (20 clients) alone and
# while 100 Authenticate calls are kept in flight (bcrypt at the default cost 10), on a real
# etcd and on etcd-ts side by side, auth enabled on both. Prints each server's median p99 of
# ROUNDS runs both ways and the ratio with/without.
#
# Usage: scripts/bench-login-burst.sh [-r ROUNDS]
set -euo pipefail
rounds=3
[ "${1:-}" = -r ] && rounds=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${ETCDBENCH:-/tmp/etcdbench}
[ -x "$bench" ] || "$repo/../shared/etcdbench/build.sh" "$bench" >&2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ep=$(port)
cp=$(port)
peer=$(port)
setsid etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$ep" \
  --advertise-client-urls "http://127.0.0.1:$ep" --listen-peer-urls "http://127.0.0.1:$peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "bench=http://127.0.0.1:$peer" \
  >"$work/etcd.log" 2>&1 &
pids+=($!)
setsid node "$repo/bin/etcd-ts.js" --name bench --data-dir "$work/ours" \
  --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
  >"$work/ours.log" 2>&1 &
pids+=($!)
for p in "$ep" "$cp"; do
  for _ in $(seq 1 300); do
    "$bench" -endpoint "127.0.0.1:$p" -op range -total 1 -clients 1 -conns 1 -key-space 1 >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctl() { etcdctl --endpoints "127.0.0.1:$p" "$@" >/dev/null 2>&1; }
  ctl user add root:rootpw
  ctl auth enable
  ctl --user root:rootpw role add bench
  ctl --user root:rootpw role grant-permission bench readwrite bench/ --prefix=true
  ctl --user root:rootpw user add bencher:benchpw
  ctl --user root:rootpw user grant-role bencher bench
done
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
p99() { "$bench" -endpoint "127.0.0.1:$1" -user bencher:benchpw -op put -clients 20 -conns 4 -total 20000 2>&1 | tail -1 | field p99_ms; }
measure() { # port → "alone... | burst... | logins..."
  local alone=() burst=() logins=()
  for _ in $(seq 1 "$rounds"); do
    alone+=("$(p99 "$1")")
    node "$repo/scripts/login-burst.mjs" "127.0.0.1:$1" bencher benchpw 100 >"$work/burst.out" &
    local b=$!
    sleep 1
    burst+=("$(p99 "$1")")
    kill -TERM $b
    wait $b || true
    logins+=("$(field logins <"$work/burst.out" | tr -d '\n')")
  done
  echo "${alone[*]}|${burst[*]}|${logins[*]}"
}
printf '%-10s %14s %14s %7s   %s\n' server 'p99 alone ms' 'p99 burst ms' ratio 'logins per run'
for s in etcd:$ep ours:$cp; do
  python3 - "${s%%:*}" "$(measure "${s##*:}")" <<'PY'
import sys, statistics as st
name, data = sys.argv[1], sys.argv[2]
alone, burst, logins = [x.split() for x in data.split('|')]
a, b = st.median(map(float, alone)), st.median(map(float, burst))
print("%-10s %14.2f %14.2f %7.2f   %s" % (name, a, b, b / a, " ".join(logins)))
PY
done
