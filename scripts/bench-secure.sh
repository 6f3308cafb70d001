#!/usr/bin/env bash
# Side-by-side benchmark of a real etcd and etcd-ts configured the same secure way, with etcd's
# own Go client (../shared/etcdbench): `auth` runs as a non-root user whose role grants the
# benchmark's prefixes (auth enabled on both), `tls` over https:// with a server certificate.
# The same method as compare.sh: rounds alternate which server goes first; each row shows the
# median qps of each and the median of the per-round ratios (ours / etcd).
#
# Usage: scripts/bench-secure.sh [-r ROUNDS] [-n REQUESTS] auth|tls
# Needs: etcd (Debian etcd-server), etcdctl, openssl, a built tree (npx tsc -p .).
set -euo pipefail
rounds=5
n=40000
while [ $# -gt 0 ]; do
  case "$1" in
    -r) rounds=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    *) break ;;
  esac
done
mode=${1:?usage: bench-secure.sh [-r ROUNDS] [-n REQUESTS] auth|tls}
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${ETCDBENCH:-/tmp/etcdbench}
[ -x "$bench" ] || "$repo/../shared/etcdbench/build.sh" "$bench" >&2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

scheme=http
client=()
server_tls=()
if [ "$mode" = tls ]; then
  scheme=https
  (
    cd "$work"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj /CN=bench-ca -out ca.pem
    openssl ecparam -name prime256v1 -genkey -noout -out server.key
    openssl req -new -key server.key -subj /CN=bench -out server.csr
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile server.ext -out server.pem
  ) >/dev/null 2>&1
  client=(-cacert "$work/ca.pem")
  server_tls=(--cert-file "$work/server.pem" --key-file "$work/server.key")
fi

ep=$(port)
cp=$(port)
peer=$(port)
setsid etcd --name bench --data-dir "$work/etcd" --listen-client-urls "$scheme://127.0.0.1:$ep" \
  --advertise-client-urls "$scheme://127.0.0.1:$ep" --listen-peer-urls "http://127.0.0.1:$peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "bench=http://127.0.0.1:$peer" \
  "${server_tls[@]}" >"$work/etcd.log" 2>&1 &
pids+=($!)
setsid node "$repo/bin/etcd-ts.js" --name bench --data-dir "$work/ours" \
  --listen-client-urls "$scheme://127.0.0.1:$cp" --advertise-client-urls "$scheme://127.0.0.1:$cp" \
  "${server_tls[@]}" >"$work/ours.log" 2>&1 &
pids+=($!)

ready() {
  for _ in $(seq 1 300); do
    "$bench" -endpoint "$1" "${client[@]}" -op range -total 1 -clients 1 -conns 1 -key-space 1 \
      -prefix probe/ >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server at $1 did not become ready" >&2
  exit 1
}
ready "127.0.0.1:$ep"
ready "127.0.0.1:$cp"

user=()
if [ "$mode" = auth ]; then
  for p in "$ep" "$cp"; do
    ctl() { etcdctl --endpoints "127.0.0.1:$p" "$@" >/dev/null; }
    ctl user add root:rootpw
    ctl auth enable
    ctl --user root:rootpw role add bench
    ctl --user root:rootpw role grant-permission bench readwrite bench/ --prefix=true
    ctl --user root:rootpw role grant-permission bench readwrite r/ --prefix=true
    ctl --user root:rootpw user add bencher:benchpw
    ctl --user root:rootpw user grant-role bencher bench
  done
  user=(-user bencher:benchpw)
fi

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
printf '%-30s %10s %10s %7s   %s\n' "$mode workload" etcd ours ratio 'p50 ms etcd/ours  p99 ms etcd/ours'
run() {
  local label=$1
  shift
  local qa=() qb=() la=() lb=() pa=() pb=() a b r
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
      a=$("$bench" -endpoint "127.0.0.1:$ep" "${client[@]}" "${user[@]}" "$@" 2>&1 | tail -1)
      b=$("$bench" -endpoint "127.0.0.1:$cp" "${client[@]}" "${user[@]}" "$@" 2>&1 | tail -1)
    else
      b=$("$bench" -endpoint "127.0.0.1:$cp" "${client[@]}" "${user[@]}" "$@" 2>&1 | tail -1)
      a=$("$bench" -endpoint "127.0.0.1:$ep" "${client[@]}" "${user[@]}" "$@" 2>&1 | tail -1)
    fi
    qa+=("$(echo "$a" | field qps)")
    qb+=("$(echo "$b" | field qps)")
    if [ -z "${qa[-1]}" ] || [ -z "${qb[-1]}" ]; then
      printf '%-30s %s | %s\n' "$label" "$a" "$b"
      return
    fi
    la+=("$(echo "$a" | field p50_ms)")
    lb+=("$(echo "$b" | field p50_ms)")
    pa+=("$(echo "$a" | field p99_ms)")
    pb+=("$(echo "$b" | field p99_ms)")
  done
  python3 - "$label" "${qa[*]}" "${qb[*]}" "${la[*]}" "${lb[*]}" "${pa[*]}" "${pb[*]}" <<'PY'
import sys, statistics as st
label, qa, qb, la, lb, pa, pb = sys.argv[1], *[list(map(float, x.split())) for x in sys.argv[2:]]
ratio = st.median(b / a for a, b in zip(qa, qb))
print("%-30s %10.0f %10.0f %7.2f   %s/%s  %s/%s" % (label, st.median(qa), st.median(qb), ratio,
      st.median(la), st.median(lb), st.median(pa), st.median(pb)))
PY
}
run "put 100 clients (qps)" -op put -clients 100 -conns 10 -total "$n"
run "range 100 clients (qps)" -op range -clients 100 -conns 10 -total "$n" -prefix r/
run "txn put 100 clients (qps)" -op txn-put -clients 100 -conns 10 -total "$n"
run "mixed 90/10 100 clients (qps)" -op mixed -clients 100 -conns 10 -total "$n" -prefix r/
run "put 1 client (qps)" -op put -clients 1 -conns 1 -total $((n / 8))
