#!/usr/bin/env bash
# desktop-e2e-locked.sh: the real app on a passphrase vault, driven through tauri-driver.
#
# Usage: scripts/desktop-e2e-locked.sh APP_BINARY KEYHAVEN_CLI SCREENSHOT_DIR
#
# In a throw-away desktop session (scripts/lib/desktop-session.sh) it starts the local
# oidc-provider server and creates a passphrase vault (`keyhaven init --passphrase-file F`) with
# custom provider `testas`, then runs tests/app-e2e/locked.mjs: the app starts locked, a sign-in
# started by the CLI is delivered by a second launch with the dev.keyhaven: URL while the vault
# is locked, and the connection appears once the vault is unlocked in the UI (SEC-46); then the
# passphrase is changed in Settings, which needs the current one (SEC-43).
# Bounded in time; leaves no process behind. Run by `make test`.

set -uo pipefail

NAME=desktop-e2e-locked
# shellcheck source=lib/desktop-session.sh
source "$(dirname "$0")/lib/desktop-session.sh"

if [[ $# -ne 3 ]]; then
    say "usage: $0 APP_BINARY KEYHAVEN_CLI SCREENSHOT_DIR"
    exit 2
fi
binaries "$1" "$2"
shots=$(realpath -m -- "$3")
mkdir -p -- "$shots" || { say "FAIL: cannot create $shots"; exit 2; }
shot="$shots/app-e2e-locked.png"  # its .log receives the helpers' logs on failure
need Xvfb dbus-daemon dbus-send gnome-keyring-daemon setsid timeout node tauri-driver WebKitWebDriver
repo=$(cd "$(dirname "$0")/.." && pwd)

session_start

start oauth node "$repo/tests/oauth-server/server.mjs"
issuer=
as_ready() { issuer=$(sed -nE 's/.*"issuer":"([^"]+)".*/\1/p' "$work/oauth.log" | head -n 1); [[ -n $issuer ]]; }
waits 30 as_ready || fail "the test OAuth server did not start within 30s"

printf '%s' 'the locked vault passphrase' >"$work/pass"
printf '%s' 'a new passphrase for the vault' >"$work/new-pass"
timeout 60 "$cli" init --passphrase-file "$work/pass" >"$work/cli.log" 2>&1 || fail "\`keyhaven init --passphrase-file\` failed"
KEYHAVEN_PASSPHRASE_FILE="$work/pass" timeout 60 "$cli" providers add --id testas --issuer "$issuer" \
    --client-id keyhaven-native --scope openid --scope email --scope offline_access --redirect deep-link \
    >>"$work/cli.log" 2>&1 || fail "\`keyhaven providers add\` failed"

port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wd_port=$(port) native_port=$(port)
export WEBKIT_DISABLE_DMABUF_RENDERER=1 KEYHAVEN_LOG=${KEYHAVEN_LOG:-keyhaven_desktop=debug}
start driver tauri-driver --port "$wd_port" --native-port "$native_port"
driver_ready() { node -e "fetch('http://127.0.0.1:$wd_port/status').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; }
waits 30 driver_ready || fail "tauri-driver did not answer on port $wd_port within 30s"

APP="$app" CLI="$cli" WD="http://127.0.0.1:$wd_port" WORK="$work" SHOTS="$shots" REPO="$repo" \
    PASS_FILE="$work/pass" NEW_PASS_FILE="$work/new-pass" \
    timeout 240 node "$repo/tests/app-e2e/locked.mjs" || fail "the locked-vault scenarios failed (see above)"
say "ok: screenshots in $shots"
exit 0
