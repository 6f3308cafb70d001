#!/usr/bin/env bash
# Watch costs side by side, real etcd against this server (issue: watch memory and idle-watcher
# overhead). For each server, on a fresh data dir:
#   - RSS added by 10,000 watchers on one stream, and on one stream each;
#   - put qps (etcdbench, 100 clients) with 1,000 idle watchers and with none (3 rounds,
#     alternating order, medians).
# Usage: npm run bench:watch   (needs etcd on PATH and ../shared/etcdbench)
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc -p . >/dev/null
bench=${ETCDBENCH:-/tmp/etcdbench}
[ -x "$bench" ] || ../shared/etcdbench/build.sh "$bench" >&2 || exit 2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 300); do "$bench" -endpoint "$1" -op range -total 1 -clients 1 -conns 1 -key-space 1 -prefix probe/ >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
start() { # $1 kind (etcd|ours) $2 port $3 dir; prints pid
  if [ "$1" = etcd ]; then
    local peer; peer=$(port)
    setsid etcd --name bench --data-dir "$3" --listen-client-urls "http://127.0.0.1:$2" --advertise-client-urls "http://127.0.0.1:$2" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "bench=http://127.0.0.1:$peer" >"$work/$1.log" 2>&1 &
  else
    setsid node bin/etcd-ts.js --name bench --data-dir "$3" --listen-client-urls "http://127.0.0.1:$2" --advertise-client-urls "http://127.0.0.1:$2" >"$work/$1.log" 2>&1 &
  fi
  echo $!
}
stop() { kill -- -"$1" 2>/dev/null || kill "$1"; wait "$1" 2>/dev/null; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

printf '%-44s %10s %10s %7s\n' measurement etcd etcd-ts ratio
for streams in ${WATCH_COST_STREAMS-one many}; do
  declare -A added=()
  for kind in etcd ours; do
    p=$(port); pid=$(start $kind "$p" "$work/$kind-$streams"); pids+=("$pid")
    wait_ready "127.0.0.1:$p" || { echo "$kind did not start" >&2; tail "$work/$kind.log" >&2; exit 1; }
    real=$(ss -ltnpH "sport = :$p" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
    out=$(node scripts/watch-cost.mjs memory --endpoint "127.0.0.1:$p" --pid "$real" --watchers 10000 --streams $streams)
    added[$kind]=$(echo "$out" | field added_mb)
    stop "$pid"
  done
  python3 -c "a=${added[etcd]}; b=${added[ours]}; print(f\"{'RSS added by 10k watchers, $streams stream(s) (MB)':<44} {a:10.1f} {b:10.1f} {b/max(a,0.1):7.2f}\")"
done

declare -A base=() idle=()
for kind in etcd ours; do
  p=$(port); pid=$(start $kind "$p" "$work/$kind-idle"); pids+=("$pid")
  wait_ready "127.0.0.1:$p" || exit 1
  q0=(); q1=()
  put() { "$bench" -endpoint "127.0.0.1:$p" -op put -clients 100 -conns 10 -total 20000 2>&1 | tail -1 | field qps; }
  with_idle() {
    node scripts/watch-cost.mjs idle --endpoint "127.0.0.1:$p" --watchers 1000 >"$work/idle.out" 2>&1 &
    local hold=$!
    for _ in $(seq 1 100); do grep -q ready "$work/idle.out" && break; sleep 0.2; done
    sleep 2 # let the holder settle (it shares the cores)
    q1+=("$(put)")
    kill $hold; wait $hold 2>/dev/null; sleep 1
  }
  for r in 1 2 3; do # alternate which goes first
    if [ $((r % 2)) = 1 ]; then with_idle; q0+=("$(put)"); else q0+=("$(put)"); with_idle; fi
  done
  base[$kind]=$(IFS=,; python3 -c "import statistics; print(statistics.median([${q0[*]}]))")
  idle[$kind]=$(IFS=,; python3 -c "import statistics; print(statistics.median([${q1[*]}]))")
  stop "$pid"
done
printf '\n%-44s %10s %10s %7s\n' 'put qps, 100 clients' 'no watch' '1k idle' ratio
for kind in etcd ours; do
  python3 -c "a=${base[$kind]}; b=${idle[$kind]}; print(f\"{'$kind':<44} {a:10.0f} {b:10.0f} {b/a:7.2f}\")"
done
