#!/usr/bin/env bash
# Side-by-side benchmark with etcd's own Go client: a real etcd and this server in one run.
# Usage: npm run bench [-- -q]   (needs ../shared/etcdbench; installs golang and etcd-server if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p .
compare=${COMPARE_SH:-../shared/etcdbench/compare.sh}
[ -x "$compare" ] || [ -f "$compare" ] || { echo "etcdbench not found at $compare (set COMPARE_SH)" >&2; exit 2; }
exec bash "$compare" "$@" -- node "$(pwd)/bin/etcd-ts.js"
