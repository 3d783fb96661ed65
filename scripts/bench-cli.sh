#!/usr/bin/env bash
# Whole-process benchmark of `keyhaven token` (target: < 15 ms median, README Performance): the release
# binary, a keychain vault in a private Secret Service (gnome-keyring), a connection whose token
# is valid, so each run is exactly what a script pays per call: exec, open the vault (key from
# the keychain over D-Bus), read the token, audit the hand-out, print.
#
#   scripts/bench-cli.sh [RUNS]     # default 200; prints median, p95, min
#   KEYHAVEN_BENCH_BIN=PATH scripts/bench-cli.sh   # another build of the CLI (to compare two)
#
# The connection is a client-credentials one against the local oidc-provider test server (no
# browser needed); `keyhaven token` with a valid token makes no network call either way.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keyhaven/target}

if [ -z "${KEYHAVEN_IN_SECRET_SERVICE:-}" ]; then
  [ -n "${KEYHAVEN_BENCH_BIN:-}" ] || cargo build --release -q -p keyhaven-cli
  exec scripts/with-secret-service.sh "$0" "$@"
fi

bin=${KEYHAVEN_BENCH_BIN:-$CARGO_TARGET_DIR/release/keyhaven}
work=$(mktemp -d /tmp/keyhaven-bench.XXXXXX)
coproc AS { node tests/oauth-server/server.mjs; }
trap 'kill $AS_PID 2>/dev/null; rm -rf "$work"' EXIT
read -r ready <&"${AS[0]}"
issuer=$(sed -E 's/.*"issuer":"([^"]+)".*/\1/' <<<"$ready")

export KEYHAVEN_HOME=$work/vault
"$bin" init >/dev/null
"$bin" providers add --id ccas --issuer "$issuer" --auth-mode client-credentials --scope api:read >/dev/null
printf 'keyhaven-confidential\nkeyhaven-confidential-secret\n' | "$bin" credentials add ccas >/dev/null

for _ in 1 2 3 4 5; do "$bin" token ccas >/dev/null; done   # warm the page cache
times=()
for ((i = 0; i < runs; i++)); do
  t0=$EPOCHREALTIME
  "$bin" token ccas >/dev/null
  t1=$EPOCHREALTIME
  times+=("$(( (${t1/./} - ${t0/./}) ))")   # microseconds
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
ms() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }
echo "keyhaven token (whole process, keychain vault, valid token), $runs runs:" \
  "median $(ms "${sorted[$((runs / 2))]}") ms, p95 $(ms "${sorted[$((runs * 95 / 100))]}") ms," \
  "min $(ms "${sorted[0]}") ms"
