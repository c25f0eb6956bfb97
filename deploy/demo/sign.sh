#!/usr/bin/env bash
# Rewrites the key material of the demo ledger in place (README.md beside this script):
#   - every SigningKeyRegistered line gets the public key of keys/<keyId>.pub (raw 32 bytes,
#     base64);
#   - every DecisionSigned line gets the decision's canonical digest and the Ed25519 signature
#     of keys/<keyId>.key over it (base64), or over the signature digest when the line carries
#     a declaration of interests.
# The digest comes from a throwaway govledgerd (`govledger decision digest`) holding every
# demo line except the signatures; the signature from `govledger decision sign`. Ed25519 is
# deterministic, so rerunning this on unchanged files and keys changes nothing. Run it after
# editing a DecisionProposed line or replacing a key.
#
#   bash deploy/demo/sign.sh [BUILD_DIR]     BUILD_DIR defaults to build/ at the repository root
#
# Needs jq and openssl, and govledger and govledgerd built in BUILD_DIR. Exits non-zero, leaving
# the files untouched, if any step fails.
set -euo pipefail

demo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$demo/../.." && pwd)"
build="${1:-$root/build}"
govledger="$build/cli/govledger"
govledgerd="$build/ledger/govledgerd"
for tool in jq openssl "$govledger" "$govledgerd"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "sign.sh: $tool not found" >&2; exit 2; }
done

tmp="$(mktemp -d)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

hex_to_base64() { printf "$(sed 's/../\\x&/g' <<<"$1")" | base64 -w0; }
# `decision digest ARGS...` against the throwaway ledger: the digest alone on stdout; the
# summary it prints for a signatory to check is shown only when it fails.
digest_of() {
  "$govledger" --server "$server" decision digest "$@" 2>"$tmp/digest.err" ||
    { cat "$tmp/digest.err" >&2; return 1; }
}

# The demo files in the order they load.
mapfile -t files < <(LC_ALL=C ls "$demo"/*.jsonl)

# 1. Public keys, first: the throwaway ledger below refuses a key line without a valid key.
for f in "${files[@]}"; do
  : >"$tmp/out.jsonl"
  while IFS= read -r line; do
    if [ "$(jq -r .eventType <<<"$line")" = govledger.v1.SigningKeyRegistered ]; then
      key_id="$(jq -r .payload.keyId <<<"$line")"
      pub="$(openssl pkey -pubin -in "$demo/keys/$key_id.pub" -outform DER | tail -c 32 | base64 -w0)"
      line="$(jq -c --arg p "$pub" '.payload.publicKey = $p' <<<"$line")"
    fi
    printf '%s\n' "$line" >>"$tmp/out.jsonl"
  done <"$f"
  cp "$tmp/out.jsonl" "$tmp/$(basename "$f").keys"
done

# 2. A throwaway ledger holding every line but the signatures.
"$govledgerd" --data-dir "$tmp/data" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  2>"$tmp/govledgerd.log" &
daemon_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/port" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/govledgerd.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$tmp/port" ] || { echo "sign.sh: govledgerd did not start" >&2; exit 1; }
server="127.0.0.1:$(cat "$tmp/port")"
unsigned=()
for f in "${files[@]}"; do
  u="$tmp/$(basename "$f").unsigned"
  jq -c 'select(.eventType != "govledger.v1.DecisionSigned")' "$tmp/$(basename "$f").keys" >"$u"
  unsigned+=("$u")
done
"$govledger" --server "$server" import "${unsigned[@]}" >/dev/null

# 3. Digests and signatures.
for f in "${files[@]}"; do
  : >"$tmp/out.jsonl"
  while IFS= read -r line; do
    if [ "$(jq -r .eventType <<<"$line")" = govledger.v1.DecisionSigned ]; then
      org="$(jq -r .payload.organisationId <<<"$line")"
      ref="$(jq -r .payload.reference <<<"$line")"
      key_id="$(jq -r .payload.keyId <<<"$line")"
      digest="$(digest_of --organisation "$org" --reference "$ref")"
      # A line with a declaration of interests is signed over the signature digest, which
      # covers the decision's digest and the declaration; .payload.digest stays the decision's.
      signed="$digest"
      if [ "$(jq -r '.payload | has("declaration")' <<<"$line")" = true ]; then
        declared=(--declaration "$(jq -r .payload.declaration.statement <<<"$line")")
        interests="$(jq -r '.payload.declaration.interests // ""' <<<"$line")"
        [ -z "$interests" ] || declared+=(--interests "$interests")
        signed="$(digest_of --organisation "$org" --reference "$ref" "${declared[@]}")"
      fi
      # The CLI signs only with a key file no other user may read; a checkout's is 0644.
      install -m 600 "$demo/keys/$key_id.key" "$tmp/signing.key"
      signature="$("$govledger" decision sign --key "$tmp/signing.key" --digest "$signed")"
      line="$(jq -c --arg d "$(hex_to_base64 "$digest")" --arg s "$(hex_to_base64 "$signature")" \
        '.payload.digest = $d | .payload.signature = $s' <<<"$line")"
    fi
    printf '%s\n' "$line" >>"$tmp/out.jsonl"
  done <"$tmp/$(basename "$f").keys"
  cp "$tmp/out.jsonl" "$tmp/$(basename "$f").signed"
done

# 4. Only now, with every step done, replace the files.
for f in "${files[@]}"; do
  cp "$tmp/$(basename "$f").signed" "$f"
done
echo "sign.sh: keys and signatures written to ${#files[@]} files in $demo"
