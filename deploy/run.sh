#!/usr/bin/env bash
# Installs everything (deploy/setup.sh), builds the daemon and the CLI (deploy/build.sh) and
# runs govledgerd in the foreground on its embedded RocksDB database. Ctrl-C (SIGINT) or SIGTERM
# stops it cleanly.
# Works from any directory.
#   GOVLEDGER_DATA_DIR  database directory, created if missing (default /var/lib/govledger)
#   GOVLEDGER_LISTEN    gRPC address (default 127.0.0.1:50051)
# Further arguments go to govledgerd (see build/ledger/govledgerd --help).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${GOVLEDGER_DATA_DIR:-/var/lib/govledger}"
listen="${GOVLEDGER_LISTEN:-127.0.0.1:50051}"

bash "$root/deploy/setup.sh"
bash "$root/deploy/build.sh" govledgerd govledger
exec "$root/build/ledger/govledgerd" --data-dir "$data_dir" --listen "$listen" "$@"
