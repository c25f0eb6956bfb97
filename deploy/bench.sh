#!/usr/bin/env bash
# Runs the benchmarks of README, "Benchmarks", against a throw-away govledgerd: for each run, a
# fresh database in a temporary directory, a daemon on a free port of 127.0.0.1, the README's
# commands in its order (each printed before its output), the daemon's RSS after the reads and
# after the typed appends, and, first, what a synced 512-byte write costs on the database's disk
# (`dd` with O_DSYNC), to tell the machine from the code. Every append is on disk before it is
# acknowledged, as always. Deletes each database after its run.
#
#   bash deploy/bench.sh [RUNS]      RUNS defaults to 1
#
# Builds govledgerd and govledger first (deploy/build.sh); installs nothing (run deploy/setup.sh,
# or either of the README's two commands, once). Needs about 4 GB free under TMPDIR (default
# /tmp) a run. Works from any directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-1}"
case "$runs" in
  '' | *[!0-9]* | 0) echo "bench.sh: RUNS must be a positive whole number, not '$runs'" >&2; exit 2 ;;
esac

bash "$root/deploy/build.sh" govledgerd govledger >/dev/null
govledgerd="$root/build/ledger/govledgerd"
govledger="$root/build/cli/govledger"

work="$(mktemp -d)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Runs one benchmark command against the daemon, printing it first.
bench() {
  echo "\$ govledger $*"
  "$govledger" --server "127.0.0.1:$port" "$@"
}

rss() {
  echo "daemon RSS $1: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$daemon_pid/status")"
}

for run in $(seq 1 "$runs"); do
  echo "== run $run of $runs, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  dd if=/dev/zero of="$work/dd" bs=512 count=2000 oflag=dsync 2>&1 | tail -1 |
    awk '{printf "dd, 2000 synced 512-byte writes: %.0f us a write\n", $(NF-3) * 1e6 / 2000}'
  rm -f "$work/dd"
  rm -rf "$work/data" "$work/port"
  "$govledgerd" --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/daemon.log" &
  daemon_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$work/port" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
  port="$(cat "$work/port")"

  bench bench ping   --clients 1  --calls 20000
  bench bench append --clients 1  --batch 1   --events 20000
  bench bench ping   --clients 32 --calls 200000
  bench bench append --clients 32 --batch 1   --events 200000
  bench bench append --clients 8  --batch 100 --events 1000000
  bench bench read   --events 1000000
  bench bench read   --events 1000000 --clients 4 --connections 2
  bench bench read   --events 1000000 --clients 2 --decode
  rss "after 1.22 million events and the reads"
  bench bench append --clients 8  --batch 100 --events 1000000 --events-of status
  bench bench append --clients 8  --batch 100 --events 1000000 --events-of status-opaque
  rss "after 3.22 million events"

  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || { cat "$work/daemon.log" >&2; exit 1; }
  daemon_pid=""
  rm -rf "$work/data"
done
