#!/usr/bin/env bash
# Instructions per request (valgrind's callgrind), in total and on the store's own thread:
# a count that does not move with the load of this shared machine, to compare two builds of
# the module where wrk's rates move by 20 % between rounds.
#
#   bench/instructions.sh [module.so]    default: target/release/libalignak_module_ws.so
#
# N (20) PATCH /host requests of 20 hosts of 2 services each (the patch_host_batch case),
# then N single PATCH /host/test_host (the patch_host case), then N POST /command of 100
# commands (post_command_batch), one at a time, after one /host request of each kind that
# creates the elements. AUTH=1: authorization 1 and Basic user:password. Needs valgrind.
# KEEP=1 leaves the callgrind files in the temporary folder (for callgrind_annotate).
# The receiver runs ~50 times slower under callgrind: this is not a rate.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SO=${1:-$ROOT/target/release/libalignak_module_ws.so}
N=${N:-20}
PORT=${PORT:-18931}
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install valgrind" >&2; exit 1; }
[ -x "$ROOT/target/release/alignak-receiver" ] || cargo build --release --quiet
D=$(mktemp -d /tmp/alignak-instructions-XXXXXX)
trap 'kill "$VP" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$D"' EXIT
mkdir -p "$D/lib"
cp "$SO" "$D/lib/libalignak_module_ws.so"
# shellcheck source=bench/receiver.sh
. bench/receiver.sh
authorization=0
CURL_AUTH=()
if [ -n "${AUTH:-}" ]; then
  authorization=1
  CURL_AUTH=(-u "$BENCH_USER:$BENCH_PASSWORD")
fi
bench_config "$D" "$PORT" "$authorization" 1 "$D/lib"
# The bodies of the wrk scripts, as they are sent.
for case in patch_host patch_host_batch post_command_batch; do
  sed -n "s/^wrk.body = '\(.*\)'\$/\1/p" "bench/$case.lua" | sed "s/\\\\'/'/g" > "$D/$case.json"
done
(cd "$D" && RUST_LOG=warn exec valgrind --tool=callgrind --separate-threads=yes --compress-strings=no \
  --callgrind-out-file="$D/cg.out" "$ROOT/target/release/alignak-receiver" -c alignak.cfg \
  > "$D/receiver.log" 2>&1) &
VP=$!
for _ in $(seq 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.5; done
send() {  # send CASE PATH [METHOD]
  curl -s -o /dev/null ${CURL_AUTH[@]+"${CURL_AUTH[@]}"} -X "${3:-PATCH}" -H 'Content-Type: application/json' \
    --data-binary "@$D/$1.json" "http://127.0.0.1:$PORT$2"
}
send patch_host_batch /host
send patch_host /host/test_host
callgrind_control -z "$VP" >/dev/null 2>&1
for _ in $(seq "$N"); do send patch_host_batch /host; done
callgrind_control -d batch "$VP" >/dev/null 2>&1
for _ in $(seq "$N"); do send patch_host /host/test_host; done
callgrind_control -d single "$VP" >/dev/null 2>&1
for _ in $(seq "$N"); do send post_command_batch /command POST; done
callgrind_control -d commands "$VP" >/dev/null 2>&1
for part in 1 2 3; do
  total=0; store=0
  for f in "$D"/cg.out."$part"-*; do
    ir=$(awk '/^totals:/ {print $2}' "$f"); ir=${ir:-0}
    total=$((total + ir))
    if grep -q session_thread "$f"; then store=$((store + ir)); fi
  done
  case $part in
    1) label="patch_host_batch (60 results)";;
    2) label="patch_host (3 results)";;
    *) label="post_command_batch (100)";;
  esac
  printf '%-30s | instructions per request: %9d in all, %9d on the store thread\n' "$label" $((total / N)) $((store / N))
done
if [ -n "${KEEP:-}" ]; then echo "callgrind files: $D"; fi
