# shellcheck shell=bash
# Peer for the benchmarks: Debian's oidc-agent (apt package `oidc-agent`, 4.2.x on Debian 12; the
# binaries come from its dependency `oidc-agent-cli`) as a token source, so `oidc-token khbench`
# can be timed next to `keyhaven token`. A library: source it, do not run it.
#
#   source scripts/bench-peer-oidc-agent.sh
#   oidc_peer_start "$issuer" "$work"     # issuer = the test AS (tests/oauth-server/server.mjs)
#   oidc-token khbench                     # OIDC_SOCK is exported: prints an access token
#   oidc_peer_stop                         # kill the agent, remove its files
#
# The agent is private: its socket and account configuration live under WORKDIR/oidc-agent
# (OIDC_CONFIG_DIR, `oidc-agent -a`), never ~/.config/oidc-agent or ~/.oidc-agent, and no other
# agent is contacted (OIDC_SOCK is exported to the private socket). Nothing prompts: oidc-gen
# runs with --prompt=none --confirm-default, the encryption password comes from a file.
#
# How the account is made without a browser: oidc-agent 4.2 has no client-credentials flow, the
# test AS has no password grant, and oidc-gen's own code flow wants a http://localhost:PORT
# redirect that the AS does not register (it registers http://127.0.0.1/callback and matches
# localhost != 127.0.0.1). So the authorization-code flow (PKCE S256) of the confidential client
# `keyhaven-confidential` (client_secret_basic) is driven here with tests/oauth-server/browser.mjs
# and curl, and the refresh token it yields is handed to `oidc-gen --rt` (oidc-agent's refresh
# flow). The public client keyhaven-native (and so POST /__test/mint) does not work:
# oidc-agent always authenticates with HTTP Basic, and an empty secret is rejected by the AS.
#
# Needs: oidc-agent (oidc-agent-cli), curl, openssl, node (the test AS already needs it).
# Functions return non-zero with a one-line "bench-peer-oidc-agent: ..." reason on stderr (and
# the agent log's tail) on failure; they work with or without `set -euo pipefail` in the caller.
# No trap is installed: call oidc_peer_stop from your own EXIT trap.
#
# Note for the numbers: like `keyhaven token` with a valid token, `oidc-token` with a cached
# valid access token makes no network call (one request to the agent over its UNIX socket).
# `oidc-token -f` would force a refresh at the AS on every call.

OIDC_PEER_ACCOUNT=khbench
OIDC_PEER_CLIENT_ID=${OIDC_PEER_CLIENT_ID:-keyhaven-confidential}
OIDC_PEER_CLIENT_SECRET=${OIDC_PEER_CLIENT_SECRET:-keyhaven-confidential-secret}
OIDC_PEER_SCOPE=${OIDC_PEER_SCOPE:-openid offline_access profile email}
OIDC_PEER_LOGIN=${OIDC_PEER_LOGIN:-bench}
OIDC_PEER_BROWSER=${OIDC_PEER_BROWSER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/oauth-server/browser.mjs}
OIDC_PEER_PID=${OIDC_PEER_PID:-}
OIDC_PEER_DIR=${OIDC_PEER_DIR:-}

oidc_peer__err() {
  printf 'bench-peer-oidc-agent: %s\n' "$*" >&2
  if [ -n "$OIDC_PEER_DIR" ] && [ -s "$OIDC_PEER_DIR/agent.log" ]; then
    printf '  oidc-agent log (last lines):\n' >&2
    tail -n 5 "$OIDC_PEER_DIR/agent.log" | sed 's/^/    /' >&2
  fi
  return 0   # callers return 1 themselves (so that `set -e` in the caller lets them clean up)
}

# base64url without padding, of stdin
oidc_peer__b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# Prints a refresh token of $OIDC_PEER_CLIENT_ID for the issuer $1 (code flow + PKCE, scripted).
oidc_peer__refresh_token() {
  local iss=$1 dir=$OIDC_PEER_DIR verifier challenge state scope_q url code resp rt
  verifier=$(openssl rand 48 | oidc_peer__b64url) || return 1
  challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | oidc_peer__b64url) || return 1
  state=$(openssl rand -hex 12) || return 1
  scope_q=${OIDC_PEER_SCOPE// /%20}
  url="$iss/auth?response_type=code&client_id=$OIDC_PEER_CLIENT_ID&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=$scope_q&state=$state&code_challenge=$challenge&code_challenge_method=S256"
  rm -f "$dir/redirect"
  if ! KH_TEST_NO_DELIVER=1 KH_TEST_REDIRECT_FILE="$dir/redirect" KH_TEST_LOGIN="$OIDC_PEER_LOGIN" \
      timeout 30 node "$OIDC_PEER_BROWSER" "$url" </dev/null >/dev/null 2>"$dir/browser.err"; then
    oidc_peer__err "scripted sign-in at $iss failed: $(tail -n 1 "$dir/browser.err" 2>/dev/null)"
    return 1
  fi
  code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' "$dir/redirect" 2>/dev/null)
  if [ -z "$code" ] || ! grep -q "[?&]state=$state\(&\|\$\)" "$dir/redirect"; then
    oidc_peer__err "no code (or wrong state) in the redirect: $(cat "$dir/redirect" 2>/dev/null)"
    return 1
  fi
  resp=$(curl -sS --max-time 15 -u "$OIDC_PEER_CLIENT_ID:$OIDC_PEER_CLIENT_SECRET" \
    -d grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode redirect_uri=http://127.0.0.1/callback --data-urlencode "code_verifier=$verifier" \
    "$iss/token" 2>&1) || { oidc_peer__err "token request failed: $resp"; return 1; }
  rt=$(printf %s "$resp" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p')
  if [ -z "$rt" ]; then
    oidc_peer__err "no refresh_token in the token response: ${resp:0:200}"
    return 1
  fi
  printf '%s\n' "$rt"
}

# oidc_peer_start ISSUER WORKDIR: private oidc-agent + account khbench for ISSUER. Exports
# OIDC_SOCK (and OIDC_CONFIG_DIR); sets OIDC_PEER_PID, OIDC_PEER_DIR, OIDC_PEER_ACCOUNT.
oidc_peer_start() {
  if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
    oidc_peer__err "usage: oidc_peer_start ISSUER WORKDIR"
    return 1
  fi
  local iss=${1%/} workdir=$2 cmd i rt out
  for cmd in oidc-agent oidc-gen oidc-token curl openssl node timeout; do
    command -v "$cmd" >/dev/null 2>&1 \
      || { oidc_peer__err "$cmd not found (oidc-*: apt-get install -y oidc-agent)"; return 1; }
  done
  [ -f "$OIDC_PEER_BROWSER" ] || { oidc_peer__err "missing $OIDC_PEER_BROWSER"; return 1; }
  if [ -n "$OIDC_PEER_PID" ] && kill -0 "$OIDC_PEER_PID" 2>/dev/null; then
    oidc_peer__err "an agent of this library is already running (pid $OIDC_PEER_PID): oidc_peer_stop first"
    return 1
  fi

  mkdir -p "$workdir" || { oidc_peer__err "cannot create $workdir"; return 1; }
  if ! curl -sSf --max-time 5 -o /dev/null "$iss/.well-known/openid-configuration" 2>"$workdir/.oidc-peer-curl.err"; then
    oidc_peer__err "no OpenID discovery at $iss: $(tail -n 1 "$workdir/.oidc-peer-curl.err" 2>/dev/null)"
    rm -f "$workdir/.oidc-peer-curl.err"
    return 1
  fi
  rm -f "$workdir/.oidc-peer-curl.err"

  OIDC_PEER_DIR=$workdir/oidc-agent
  rm -rf "$OIDC_PEER_DIR"
  mkdir -p "$OIDC_PEER_DIR/config" || { oidc_peer__err "cannot create $OIDC_PEER_DIR"; return 1; }
  chmod 700 "$OIDC_PEER_DIR" "$OIDC_PEER_DIR/config"
  export OIDC_CONFIG_DIR=$OIDC_PEER_DIR/config
  export OIDC_SOCK=$OIDC_PEER_DIR/agent.sock
  unset OIDCD_PID
  (umask 077 && openssl rand -hex 24 >"$OIDC_PEER_DIR/pw") || { oidc_peer__err "cannot write the password file"; return 1; }

  # -d: stay in the foreground (we own the pid). --pw-store: keep the encryption password so the
  # agent can re-encrypt the config when the AS rotates the refresh token. Nothing may open a
  # browser, a web server or a URI scheme handler, or load accounts behind our back.
  oidc-agent -d -a "$OIDC_SOCK" --no-autoload --no-autoreauthenticate --no-webserver --no-scheme \
    --pw-store --log-stderr </dev/null >"$OIDC_PEER_DIR/agent.log" 2>&1 &
  OIDC_PEER_PID=$!
  for ((i = 0; i < 100; i++)); do   # up to 10 s for the socket
    [ -S "$OIDC_SOCK" ] && break
    kill -0 "$OIDC_PEER_PID" 2>/dev/null || { oidc_peer__err "oidc-agent exited at start-up"; OIDC_PEER_PID=; return 1; }
    sleep 0.1
  done
  if [ ! -S "$OIDC_SOCK" ]; then
    oidc_peer__err "oidc-agent made no socket at $OIDC_SOCK within 10 s"
    oidc_peer_stop
    return 1
  fi

  rt=$(oidc_peer__refresh_token "$iss") || { oidc_peer_stop; return 1; }

  # oidc-gen normalises the issuer to ISSUER/ (trailing slash) itself.
  if ! out=$(OIDC_PEER_RT=$rt timeout 60 oidc-gen "$OIDC_PEER_ACCOUNT" --iss="$iss" \
      --client-id="$OIDC_PEER_CLIENT_ID" --client-secret="$OIDC_PEER_CLIENT_SECRET" \
      --scope="$OIDC_PEER_SCOPE" --rt-env=OIDC_PEER_RT --pw-file="$OIDC_PEER_DIR/pw" \
      --prompt=none --confirm-default --no-url-call --no-webserver --no-scheme \
      </dev/null 2>&1); then
    oidc_peer__err "oidc-gen failed: $(printf %s "$out" | tr '\n' ' ')"
    oidc_peer_stop
    return 1
  fi

  if ! out=$(timeout 10 oidc-token "$OIDC_PEER_ACCOUNT" </dev/null 2>&1) || [ -z "$out" ] || [[ $out == *' '* ]]; then
    oidc_peer__err "oidc-token $OIDC_PEER_ACCOUNT does not work after set-up: $out"
    oidc_peer_stop
    return 1
  fi
}

# oidc_peer_stop: kill the agent (TERM, then KILL after 5 s) and remove WORKDIR/oidc-agent.
# oidc-agent runs as two processes, the one started here and a child it forks (which it never
# reaps: once both are gone, the child's zombie is reaped by init).
oidc_peer_stop() {
  local i kids
  if [ -n "$OIDC_PEER_PID" ]; then
    kids=$(pgrep -P "$OIDC_PEER_PID" 2>/dev/null | tr '\n' ' ') || true
    # shellcheck disable=SC2086
    kill "$OIDC_PEER_PID" $kids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$OIDC_PEER_PID" 2>/dev/null || break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -9 "$OIDC_PEER_PID" $kids 2>/dev/null || true
    wait "$OIDC_PEER_PID" 2>/dev/null || true
    OIDC_PEER_PID=
  fi
  if [ -n "$OIDC_PEER_DIR" ]; then
    rm -rf "$OIDC_PEER_DIR"
    OIDC_PEER_DIR=
  fi
  unset OIDC_SOCK OIDC_CONFIG_DIR
  return 0
}
