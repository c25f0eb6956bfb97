#!/usr/bin/env bash
# Installs everything (deploy/setup.sh), builds the daemon and the CLI (deploy/build.sh), starts
# govledgerd on its embedded RocksDB database, loads the demo ledger (deploy/demo/*.jsonl, in
# file-name order; idempotent, so every start stores it at most once), prints how to query it,
# and stays in the foreground until Ctrl-C (SIGINT) or SIGTERM, which it passes to govledgerd so
# that it stops cleanly; it exits with govledgerd's exit status.
# Works from any directory.
#   GOVLEDGER_DATA_DIR  database directory, created if missing (default /var/lib/govledger-demo:
#                       not the system service's /var/lib/govledger, which a demo, whose signing
#                       keys' private halves are published, must never enter: run.sh refuses it)
#   GOVLEDGER_LISTEN    gRPC address (default 127.0.0.1:50051)
#   GOVLEDGER_DEMO      1 (default) loads the demo ledger; 0 starts govledgerd without it
#   GOVLEDGER_TREE_HEAD_KEY  the key pair tree heads are signed with, as a prefix: PREFIX.key and
#                       PREFIX.pub, made by `govledger keys generate` if missing (default: the
#                       data directory's path followed by -tree-head); 0: unsigned tree heads
# Further arguments go to govledgerd (see build/ledger/govledgerd --help); run.sh passes
# --data-dir, --listen and --port-file itself, and --tree-head-key unless
# GOVLEDGER_TREE_HEAD_KEY=0. With --tokens, set GOVLEDGER_TOKEN to an admin's token (the demo
# registers organisations and signing keys and sets delegation rules, which need one; it then
# records that token's actor); with TLS, GOVLEDGER_TLS_CA (README, "Access control").
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${GOVLEDGER_DATA_DIR:-/var/lib/govledger-demo}"
listen="${GOVLEDGER_LISTEN:-127.0.0.1:50051}"
demo="${GOVLEDGER_DEMO:-1}"
if [ "$demo" != 0 ] && [ "$demo" != 1 ]; then
  echo "run.sh: GOVLEDGER_DEMO must be 0 or 1, not '$demo'" >&2
  exit 2
fi
# Events are never deleted: the demo loaded into the service's database would stay there.
if [ "$demo" = 1 ] && [ "$(realpath -m "$data_dir")" = "$(realpath -m /var/lib/govledger)" ]; then
  echo "run.sh: /var/lib/govledger is the system service's database (deploy/govledgerd.service);" \
    "the demo would stay in it for good. Leave GOVLEDGER_DATA_DIR unset (the demo's" \
    "/var/lib/govledger-demo) or name another directory, or set GOVLEDGER_DEMO=0" >&2
  exit 2
fi

bash "$root/deploy/setup.sh"
bash "$root/deploy/build.sh" govledgerd govledger
govledgerd="$root/build/ledger/govledgerd"
govledger="$root/build/cli/govledger"

# The tree head key (README, "Proofs and signed tree heads"), beside the data directory and not
# in it: a backup of the database does not carry the key.
tree_head="${GOVLEDGER_TREE_HEAD_KEY:-${data_dir%/}-tree-head}"
tree_head_args=()
if [ "$tree_head" != 0 ]; then
  if [ ! -e "$tree_head.key" ]; then
    if [ -e "$tree_head.pub" ]; then
      # Its key lost: a new key pair would not match tree heads kept with the old public key.
      echo "run.sh: $tree_head.pub exists but $tree_head.key does not; if the key is lost, move" \
        "$tree_head.pub aside (tree heads signed with the old key are checked with it) and run" \
        "again to make a new pair" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$tree_head")"
    "$govledger" keys generate --out "$tree_head" >/dev/null
    echo "run.sh: made the tree head key $tree_head.key (public key $tree_head.pub)"
  fi
  tree_head_args=(--tree-head-key "$tree_head.key")
fi

run_dir="$(mktemp -d)"
daemon_pid=""
stopping=0
stop_daemon() {
  stopping=1
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; fi
}
trap stop_daemon INT TERM
trap 'rm -rf "$run_dir"' EXIT

"$govledgerd" --data-dir "$data_dir" --listen "$listen" --port-file "$run_dir/port" \
  "${tree_head_args[@]}" "$@" &
daemon_pid=$!

# Wait until it serves (it writes the port file then), or report how it ended.
until [ -s "$run_dir/port" ]; do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    status=0
    wait "$daemon_pid" || status=$?
    echo "run.sh: govledgerd exited with status $status before serving" >&2
    exit "$status"
  fi
  sleep 0.1
done
case "$listen" in
  unix:* | unix-abstract:*) server="$listen" ;;  # the port file holds the address
  *)
    host="${listen%:*}"
    case "$host" in
      "" | 0.0.0.0 | "[::]" | "*") host=127.0.0.1 ;;
    esac
    server="$host:$(cat "$run_dir/port")"
    ;;
esac

if [ "$demo" = 1 ]; then
  mapfile -t demo_files < <(LC_ALL=C ls -1 -- "$root"/deploy/demo/*.jsonl)
  # A token names its own actor; without one the demo names this one.
  actor=(--actor "govledger demo (deploy/run.sh)")
  [ -z "${GOVLEDGER_TOKEN:-}" ] || actor=()
  if ! "$govledger" --server "$server" import "${actor[@]}" \
    "${demo_files[@]}" && [ "$stopping" = 0 ]; then
    echo "run.sh: the demo ledger did not load (see above); stopping govledgerd" >&2
    stop_daemon
    wait "$daemon_pid" || true
    exit 1
  fi
fi

cli="$govledger"
[ "$server" = 127.0.0.1:50051 ] || cli="$govledger --server $server"
[ "$stopping" = 1 ] || cat <<EOF

govledgerd is serving on $server (data in $data_dir); Ctrl-C stops it.
EOF
if [ "$demo" = 1 ] && [ "$stopping" = 0 ]; then
  cat <<EOF
The demo ledger (deploy/demo/README.md) reconstructs the five seed papers. Try:
  $cli programmes
  $cli report --programme LPP --week 86 --since-week 74
  $cli risks --programme LPP --week 74
  $cli decisions --organisation MOPAC
  $cli decisions --organisation WWA --json
  $cli history risk/LPP-R03
  $cli sources
  $cli verify
README.md, "Try it: what was known when", records a correction on a scratch copy of the demo
to show "as recorded" and "as known" answers part.
EOF
fi
if [ "$tree_head" != 0 ] && [ "$stopping" = 0 ]; then
  cat <<EOF
Tree heads are signed with $tree_head.key; keep one and prove against it later:
  $cli tree-head --public-key $tree_head.pub > tree-head.json
  $cli prove extends tree-head.json --public-key $tree_head.pub
EOF
fi

# Stay in the foreground until govledgerd ends; a trapped signal interrupts `wait`, so wait again
# until the process is gone, then exit with its status.
while :; do
  status=0
  wait "$daemon_pid" || status=$?
  kill -0 "$daemon_pid" 2>/dev/null || break
done
exit "$status"
