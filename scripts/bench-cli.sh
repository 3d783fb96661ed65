#!/usr/bin/env bash
# Whole-process benchmark of `keyhaven token` (README, Performance), four ways interleaved in one
# run on the same machine, so every figure sees the same load:
#   agent       keychain vault, after `keyhaven unlock` (the front binary asks the agent)
#   direct      a second keychain vault with KEYHAVEN_NO_AGENT=1 (exec, keychain over D-Bus,
#               SQLCipher open, read, audit row, print). Its own vault: its audit rows would
#               otherwise make the agent's vault change under it every round, so the agent would
#               never answer from memory (docs/agent.md), which is not what a tool sees
#   (each way has its own vault; all of them live in one private keyring)
#   passphrase  a passphrase vault after `keyhaven unlock` (its own agent socket)
#   oidc-token  Debian's oidc-token against oidc-agent (the peer; scripts/bench-peer-oidc-agent.sh)
#   git-agent, git-direct    `keyhaven git-credential get` (git's request on stdin, a host
#               mapped to the connection by `keyhaven setup git`), through the agent / directly
#   kube-agent, kube-direct  `keyhaven kube credential CONN` (an ExecCredential), likewise
# Each connection holds a valid token, so no call makes a network request. Afterwards, the
# agent's resident memory while idle.
#
#   scripts/bench-cli.sh [RUNS]     # default 300 rounds; prints median, p95, min per way
#   KEYHAVEN_BENCH_BIN=DIR scripts/bench-cli.sh   # another build (a directory holding
#                                                 # keyhaven and keyhaven-main)
#
# Timing is bash's $EPOCHREALTIME around fork+exec+wait, the ways in a random order each round:
# the same for every way, so the ratios are fair; the absolute figures include ~0.9 ms of bash's own fork (`/bin/true` is printed too).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keyhaven/target}

if [ -z "${KEYHAVEN_IN_SECRET_SERVICE:-}" ]; then
  [ -n "${KEYHAVEN_BENCH_BIN:-}" ] || cargo build --release -q -p keyhaven-cli
  if ! command -v oidc-token >/dev/null; then
    # The peer: oidc-agent's command-line package (the `oidc-agent` meta-package would also pull
    # in its desktop integration and X).
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q oidc-agent-cli >/dev/null
    else
      echo "bench-cli: install oidc-agent-cli (the peer) first" >&2
      exit 1
    fi
  fi
  exec scripts/with-secret-service.sh "$0" "$@"
fi

bin_dir=${KEYHAVEN_BENCH_BIN:-$CARGO_TARGET_DIR/release}
bin=$bin_dir/keyhaven
work=$(mktemp -d /tmp/keyhaven-bench.XXXXXX)
# shellcheck source=scripts/bench-peer-oidc-agent.sh
source scripts/bench-peer-oidc-agent.sh
coproc AS { node tests/oauth-server/server.mjs; }
cleanup() {
  KEYHAVEN_HOME=$work/kc "$bin" lock >/dev/null 2>&1 || true
  oidc_peer_stop >/dev/null 2>&1 || true
  KEYHAVEN_HOME=$work/pp KEYHAVEN_AGENT_SOCK=$work/run/pp.sock "$bin" lock >/dev/null 2>&1 || true
  kill "$AS_PID" 2>/dev/null || true
  pkill -f "$bin_dir/keyhaven-main agent" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
read -r ready <&"${AS[0]}"
issuer=$(sed -E 's/.*"issuer":"([^"]+)".*/\1/' <<<"$ready")

mkdir -m 700 "$work/run"
export XDG_RUNTIME_DIR=$work/run
setup_vault() { # HOME_DIR [init options...]
  local home=$1
  shift
  KEYHAVEN_HOME=$home KEYHAVEN_NO_AGENT=1 "$bin" init "$@" >/dev/null
  KEYHAVEN_HOME=$home KEYHAVEN_NO_AGENT=1 "$bin" providers add --id ccas --issuer "$issuer" \
    --auth-mode client-credentials --scope api:read >/dev/null
  printf 'keyhaven-confidential\nkeyhaven-confidential-secret\n' |
    KEYHAVEN_HOME=$home KEYHAVEN_NO_AGENT=1 "$bin" credentials add ccas >/dev/null
}
printf 'bench passphrase, long enough\n' >"$work/pass"
setup_vault "$work/kc"
setup_vault "$work/kd"
KEYHAVEN_PASSPHRASE_FILE=$work/pass setup_vault "$work/pp" --passphrase
KEYHAVEN_HOME=$work/kc "$bin" unlock 2>/dev/null
KEYHAVEN_HOME=$work/pp KEYHAVEN_AGENT_SOCK=$work/run/pp.sock "$bin" unlock \
  --passphrase-file "$work/pass" 2>/dev/null
oidc_peer_start "$issuer" "$work"
# git's helper needs a host mapped to the connection: set up in private git configs.
for v in kc kd; do
  HOME=$work/home-$v GIT_CONFIG_GLOBAL=$work/gitconfig-$v KEYHAVEN_HOME=$work/$v KEYHAVEN_NO_AGENT=1 \
    "$bin" setup git ccas --host 127.0.0.1:9 >/dev/null
done
git_request=$'protocol=http\nhost=127.0.0.1:9\n'

way_agent() { KEYHAVEN_HOME=$work/kc "$bin" token ccas; }
way_direct() { KEYHAVEN_HOME=$work/kd KEYHAVEN_NO_AGENT=1 "$bin" token ccas; }
way_passphrase() { KEYHAVEN_HOME=$work/pp KEYHAVEN_AGENT_SOCK=$work/run/pp.sock "$bin" token ccas; }
way_oidc() { oidc-token "$OIDC_PEER_ACCOUNT"; }
way_true() { /bin/true; }
way_git_agent() { KEYHAVEN_HOME=$work/kc "$bin" git-credential get <<<"$git_request"; }
way_git_direct() { KEYHAVEN_HOME=$work/kd KEYHAVEN_NO_AGENT=1 "$bin" git-credential get <<<"$git_request"; }
way_kube_agent() { KEYHAVEN_HOME=$work/kc "$bin" kube credential ccas; }
way_kube_direct() { KEYHAVEN_HOME=$work/kd KEYHAVEN_NO_AGENT=1 "$bin" kube credential ccas; }
ways=(agent direct passphrase oidc true git_agent git_direct kube_agent kube_direct)

# Each way must print a token (not an error) before it is timed.
for w in agent direct passphrase oidc git_agent git_direct kube_agent kube_direct; do
  tok=$("way_$w")
  [ ${#tok} -gt 20 ] || { echo "bench-cli: $w printed no token" >&2; exit 1; }
done
for _ in 1 2 3 4 5; do for w in "${ways[@]}"; do "way_$w" >/dev/null; done; done # warm up

declare -A times
for ((i = 0; i < runs; i++)); do
  # A new order each round: whichever way runs right after the 14 ms direct call finds the
  # caches cold, so no way may always be the one.
  for w in $(printf '%s\n' "${ways[@]}" | shuf); do
    t0=$EPOCHREALTIME
    "way_$w" >/dev/null
    t1=$EPOCHREALTIME
    times[$w]+="$(( ${t1/./} - ${t0/./} )) "
  done
done

ms() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }
declare -A median
echo "keyhaven token, whole process, valid token, $runs interleaved rounds ($(nproc) cores):"
for w in "${ways[@]}"; do
  # shellcheck disable=SC2206
  sorted=($(printf '%s\n' ${times[$w]} | sort -n))
  median[$w]=${sorted[$((runs / 2))]}
  printf '  %-12s median %s ms, p95 %s ms, min %s ms\n' "$w" "$(ms "${median[$w]}")" \
    "$(ms "${sorted[$((runs * 95 / 100))]}")" "$(ms "${sorted[0]}")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "  agent / oidc-token median: $(ratio "${median[agent]}" "${median[oidc]}") (goal <= 1.0)"
echo "  passphrase after unlock / agent median: $(ratio "${median[passphrase]}" "${median[agent]}") (goal <= 1.2)"
echo "  direct median: $(ms "${median[direct]}") ms (goal < 8 ms)"
echo "  git-credential get / token, with the agent: $(ratio "${median[git_agent]}" "${median[agent]}") (goal <= 1.1)"
echo "  kube credential / token, with the agent: $(ratio "${median[kube_agent]}" "${median[agent]}") (goal <= 1.1)"
echo "  git-credential get / token, direct: $(ratio "${median[git_direct]}" "${median[direct]}")"
echo "  kube credential / token, direct: $(ratio "${median[kube_direct]}" "${median[direct]}")"

sleep 2 # idle
pid=$(KEYHAVEN_HOME=$work/kc "$bin" agent status --json | sed -nE 's/.*"pid": ([0-9]+).*/\1/p')
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
echo "  agent idle RSS: $((rss / 1024)).$(((rss % 1024) * 10 / 1024)) MiB ($rss kB; goal < 20 MB)"
